"""Shipped state rule packs (YAML data, one file per state)."""
