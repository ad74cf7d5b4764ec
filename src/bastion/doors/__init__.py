"""Doors: the live state board and operator door commands (lock, unlock, lockdown)."""
