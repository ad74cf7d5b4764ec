"""Encryption at rest and keyed hashing, derived from the site's master key(s).

Personal data and secrets (TOTP seeds, OSDP keys, ID numbers, phone numbers) are
stored with :class:`EncryptedString`; card numbers are stored only as a keyed hash.
Keys rotate by prepending a new master key: older ones still decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from bastion.core.errors import ConfigError, StorageError
from bastion.store.files import secure_dir, secure_file

KEY_FILE_NAME = "secret.key"


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class KeyRing:
    """Master keys (newest first) and the sub-keys derived from them."""

    def __init__(self, masters: Sequence[bytes]) -> None:
        if not masters:
            raise ConfigError("no master key configured")
        for key in masters:
            if len(key) < 32:
                raise ConfigError("a master key must be at least 32 bytes")
        self._fernet = MultiFernet(
            [Fernet(base64.urlsafe_b64encode(_derive(m, b"bastion/fernet/v1"))) for m in masters]
        )
        self._hmac_key = _derive(masters[0], b"bastion/hmac/v1")

    @classmethod
    def from_strings(cls, values: str) -> KeyRing:
        """Build a key ring from comma-separated base64 master keys."""
        try:
            masters = [base64.urlsafe_b64decode(v.strip()) for v in values.split(",") if v.strip()]
        except (ValueError, TypeError):
            raise ConfigError("BASTION_SECRET_KEYS holds a value that is not base64") from None
        return cls(masters)

    def encrypt(self, plaintext: str) -> str:
        """Return an authenticated ciphertext token."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Return the plaintext; raise StorageError when the token was altered or the key is wrong."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise StorageError(
                "an encrypted value cannot be decrypted (wrong key or tampered)"
            ) from None

    def encrypt_bytes(self, plaintext: bytes) -> bytes:
        """Return an authenticated ciphertext token of binary data (photos, files)."""
        return self._fernet.encrypt(plaintext)

    def decrypt_bytes(self, token: bytes) -> bytes:
        """Return the binary plaintext; StorageError when altered or under an unknown key."""
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise StorageError(
                "an encrypted file cannot be decrypted (wrong key or tampered)"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` under the newest key."""
        return self._fernet.rotate(token.encode()).decode()

    def keyed_hash(self, value: str, *, purpose: str) -> str:
        """Return HMAC-SHA256 of ``value`` for look-ups without storing it in clear."""
        mac = hmac.new(self._hmac_key, f"{purpose}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()


def new_master_key() -> str:
    """Return a fresh random master key, base64."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def load_or_create_key_file(data_dir: Path, *, create: bool) -> str:
    """Read ``data_dir/secret.key`` (made owner-only), creating it with mode 0600 when asked."""
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        secure_file(path)
        value = path.read_text().strip()
        if not value:
            raise ConfigError("secret key file is empty", file=str(path))
        return value
    if not create:
        raise ConfigError("secret key file is missing; run 'bastion init'", file=str(path))
    secure_dir(data_dir, create=True)
    value = new_master_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


_KEYRING: KeyRing | None = None


def configure(keyring: KeyRing) -> None:
    """Install the process-wide key ring used by encrypted columns."""
    global _KEYRING
    _KEYRING = keyring


def keyring() -> KeyRing:
    """Return the process-wide key ring."""
    if _KEYRING is None:
        raise StorageError("encryption keys are not configured")
    return _KEYRING


class EncryptedString(TypeDecorator[str]):
    """A text column whose value is encrypted with the process key ring."""

    impl = Text()
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Encrypt on the way in."""
        return None if value is None else keyring().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        """Decrypt on the way out."""
        return None if value is None else keyring().decrypt(value)
