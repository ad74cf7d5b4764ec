"""The encrypted reader-key file behind the integration's key-store protocol."""

from __future__ import annotations

import stat

from bastion.osdp_keys import EncryptedKeyFile
from bastion.store.crypto import KeyRing


def test_keys_are_encrypted_committed_rotated_and_forgotten(tmp_path) -> None:
    ring = KeyRing([b"a" * 32])
    store = EncryptedKeyFile(tmp_path / "osdp_keys.json", ring)
    key = bytes(range(16))
    store.set_pending("reader-1", key)
    assert store.get("reader-1") is None and store.get_pending("reader-1") == key
    store.commit("reader-1")
    assert store.get("reader-1") == key and store.get_pending("reader-1") is None
    raw = (tmp_path / "osdp_keys.json").read_text()
    assert key.hex() not in raw
    assert stat.S_IMODE((tmp_path / "osdp_keys.json").stat().st_mode) == 0o600
    store.request_rotation("reader-1")
    assert store.rotation_requests() == {"reader-1"}
    store.clear_rotation("reader-1")
    assert store.rotation_requests() == set()
    rotated = EncryptedKeyFile(tmp_path / "osdp_keys.json", KeyRing([b"b" * 32, b"a" * 32]))
    assert rotated.reencrypt() == 1
    assert (
        EncryptedKeyFile(tmp_path / "osdp_keys.json", KeyRing([b"b" * 32])).get("reader-1") == key
    )
    rotated.forget("reader-1")
    assert rotated.get("reader-1") is None
