"""Event search: the ledger filtered by time, kind, place, person, outcome and text.

One query layer serves the console's Events page, its CSV/PDF exports, the saved reports,
the API and ``bastion ledger tail``; every row comes back with names, not ids, and times in
the site's time zone.
"""
