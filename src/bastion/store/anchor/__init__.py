"""Anchor the ledger with signed checkpoints kept where the database's owner cannot rewrite them.

The hash chain alone is keyless and its head lives in the same database, so whoever can
write to the database can truncate it, edit a row and recompute every later hash, delete
rows and renumber the rest, or forge a whole new chain, and the chain still verifies.
Checkpoints close that gap the way transparency logs do: now and then (every
``BASTION_CHECKPOINT_EVERY_EVENTS`` events or ``BASTION_CHECKPOINT_EVERY_SECONDS``, and on
clean shutdown) the head's seq, hash and event id and the time are signed with an Ed25519
key, and the record is appended to a JSON-lines file outside the data directory and,
optionally, sent to an HTTP(S) remote. ``bastion ledger verify`` then checks every
checkpoint copy against the database and names the change: truncation, a changed row,
deleted-and-renumbered rows, or a rewritten chain.

Where things live:

- The signing key: its own 0600 file, ``BASTION_LEDGER_KEY_FILE`` (default
  ``<data dir>/ledger-signing.key``), never in the database. It also holds the ledger's
  identity and the public half of every retired key. ``bastion ledger keys rotate``
  replaces the key; the new key's record is signed by itself and by the old key, and is
  written to the ledger (``ledger.key`` events) and to the checkpoint log.
- The checkpoints: ``BASTION_CHECKPOINT_DIR/<ledger id>.jsonl`` (default
  ``$XDG_STATE_HOME/bastion/checkpoints``, i.e. ``~/.local/state/bastion/checkpoints``),
  plus ``BASTION_CHECKPOINT_URL`` when set.

What it protects against: a rewrite by someone who can change the database (a database
administrator, a stolen database password, SQL injection, a copied and replaced SQLite
file) but holds neither the signing key nor every copy of the checkpoints.

What it does not protect against: an attacker who holds the signing key *and* every
checkpoint copy (they can re-sign a forged history; a remote they cannot reach defeats
this); events that were never written; and changes to rows newer than the last
checkpoint (at most one interval's worth), which only the chain itself guards.
"""

from bastion.store.anchor.audit import AnchorReport, verify_anchored
from bastion.store.anchor.findings import Finding, FindingKind
from bastion.store.anchor.writer import Anchor, AnchorConfig, AnchorStats

__all__ = [
    "Anchor",
    "AnchorConfig",
    "AnchorReport",
    "AnchorStats",
    "Finding",
    "FindingKind",
    "verify_anchored",
]
