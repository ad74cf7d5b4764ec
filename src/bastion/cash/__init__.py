"""Cash controls: tills, safes and the vault, blind and dual counts, armored pickups, POS exceptions.

Every dollar's path from register to armored car is a chain of movements between
containers; each movement is a ledger event, and a balance is only ever the sum of them.
"""
