"""The data directory and every file in it are private to the account running Bastion."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.hub import open_hub
from bastion.settings import Settings
from bastion.store.files import secure_dir


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the common default that made files world-readable
    yield
    os.umask(old)


def test_a_new_data_directory_and_its_database_are_owner_only(tmp_path, usual_umask):
    data = tmp_path / "site" / "bastion-data"
    hub = open_hub(Settings(data_dir=data), migrate=True, create_key=True)
    try:
        assert _mode(data) == 0o700
        for name in ("bastion.db", "bastion.db-wal", "bastion.db-shm", "secret.key"):
            assert (data / name).exists(), name
            assert _mode(data / name) == 0o600, name
    finally:
        hub.close()


def test_an_existing_world_readable_data_directory_is_tightened(tmp_path, usual_umask):
    data = tmp_path / "bastion-data"
    hub = open_hub(Settings(data_dir=data), migrate=True, create_key=True)
    hub.close()
    data.chmod(0o755)
    for path in data.iterdir():
        path.chmod(0o644)
    hub = open_hub(Settings(data_dir=data))
    try:
        assert _mode(data) == 0o700
        assert {p.name: _mode(p) for p in data.iterdir()} == {p.name: 0o600 for p in data.iterdir()}
    finally:
        hub.close()


def test_secure_dir_leaves_a_missing_directory_alone_unless_asked(tmp_path):
    secure_dir(tmp_path / "absent", create=False)
    assert not (tmp_path / "absent").exists()
    secure_dir(tmp_path / "made", create=True)
    assert _mode(tmp_path / "made") == 0o700
