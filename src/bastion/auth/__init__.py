"""Operator accounts, roles, sessions, API tokens and sign-in protection."""
