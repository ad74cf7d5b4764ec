"""Compliance: state rule packs checked against the site, its records and its settings."""
