"""Signed one-time acknowledgement links.

A token is ``<recipient id>.<expiry (unix s)>.<nonce>.<signature>`` where the signature
is an HMAC (a keyed hash under a sub-key of the site key ring) of the first three
parts. The nonce is stored with the recipient, so a token names exactly one recipient
of one run; single use is enforced by the recipient's acknowledgement time.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from bastion.core.errors import Forbidden
from bastion.store import crypto

ACK_PURPOSE = "notify/ack-link/v1"
ACK_TTL_S = 24 * 3600
"""How long a link stays valid after the message was sent."""


@dataclass(frozen=True)
class AckClaim:
    """What a valid signature vouches for."""

    recipient_id: int
    expires: int
    nonce: str


def new_nonce() -> str:
    """Return a fresh random nonce for a recipient."""
    return secrets.token_hex(16)


def _signature(body: str) -> str:
    return crypto.keyring().keyed_hash(body, purpose=ACK_PURPOSE)


def sign(*, recipient_id: int, nonce: str, expires: datetime) -> str:
    """Return the link token for one recipient."""
    body = f"{recipient_id}.{int(expires.timestamp())}.{nonce}"
    return f"{body}.{_signature(body)}"


def verify(token: str, *, now: datetime) -> AckClaim:
    """Return the claim of a well-signed, unexpired token; raise Forbidden otherwise."""
    parts = token.split(".")
    if len(parts) != 4:
        raise Forbidden("this acknowledgement link is not valid")
    recipient, expires, nonce, signature = parts
    body = f"{recipient}.{expires}.{nonce}"
    if not hmac.compare_digest(signature.encode(), _signature(body).encode()):
        raise Forbidden("this acknowledgement link is not valid")
    try:
        claim = AckClaim(int(recipient), int(expires), nonce)
    except ValueError:
        raise Forbidden("this acknowledgement link is not valid") from None
    if now.timestamp() > claim.expires:
        raise Forbidden("this acknowledgement link has expired")
    return claim
