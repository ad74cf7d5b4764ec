"""Seed-to-sale inventory: product tied to people, places, times, doors and cameras.

Every change of a package, plant or harvest is an append-only movement whose row is also a
ledger event; reconciliation compares the books with physical counts, the POS and the
state's track-and-trace system (Metrc, Washington CCRS).
"""
