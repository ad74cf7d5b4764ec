"""Owner-only modes for the data directory and the files in it (database, WAL, keys, outbox)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

_LOGGER = logging.getLogger(__name__)
DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _tighten(path: Path, mode: int) -> None:
    """Drop group and other permissions of ``path`` when it has any and we own it."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & ~mode == 0:
        return
    try:
        path.chmod(current & mode)
    except OSError as exc:  # not ours, or a read-only mount (a backup being verified)
        _LOGGER.warning(
            "%s is open to others (mode %o) and cannot be changed: %s", path, current, exc
        )


def secure_dir(path: Path, *, create: bool) -> None:
    """Create ``path`` (and missing parents) as owner-only, or make an existing one so."""
    if create and not path.exists():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, DIR_MODE)


def secure_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 when missing, otherwise drop others' access.

    SQLite gives its WAL, shared-memory and journal files the mode of the database
    file, so a database created here stays private with everything beside it.
    """
    if path.exists():
        _tighten(path, FILE_MODE)
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:  # created meanwhile by another process
        _tighten(path, FILE_MODE)


def secure_sqlite_files(path: Path) -> None:
    """Make a SQLite database file and the files SQLite keeps beside it owner-only."""
    secure_file(path)
    for suffix in SQLITE_SIDE_FILES:
        _tighten(path.with_name(path.name + suffix), FILE_MODE)
