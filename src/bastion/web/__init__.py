"""Operator console: server-rendered pages with a live event feed."""
