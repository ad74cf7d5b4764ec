"""Hardening score: what weakens a site's security system, each finding with its fix.

Checks what Bastion can see for itself: readers talking plain-text OSDP or still on the
install-mode default key (their last ledgered status), operators of the site without
TOTP, API tokens that never expire, devices whose firmware is older than the newest
recorded for the same model (asset register), camera snapshot URLs with no credentials
or a vendor's default user, and the console served over plain HTTP beyond loopback.
The score starts at 100 and loses each finding's weight (never below 0); recording it
(ledgered) gives the trend.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.auth.models import ApiToken, User
from bastion.core.context import Context
from bastion.core.events import (
    EVENT_MAINTENANCE,
    EVENT_READER_STATUS,
    MaintenancePayload,
    make_event,
)
from bastion.maintenance.models import Asset
from bastion.maintenance.settings import SiteUpkeep
from bastion.site.schemas import Site
from bastion.store.ledger import Ledger, stage

DEFAULT_USERS = frozenset({"admin", "root", "service", "supervisor", "666666", "888888"})
WEIGHTS = {
    "osdp_plaintext": 8,
    "osdp_default_key": 6,
    "operator_without_totp": 5,
    "token_never_expires": 4,
    "old_firmware": 3,
    "camera_no_credentials": 5,
    "camera_default_user": 4,
    "plain_http": 15,
}


@dataclass(frozen=True)
class Finding:
    """One weakness: what, where, and how to fix it."""

    kind: str
    target: str
    problem: str
    fix: str

    @property
    def weight(self) -> int:
        """Return how many points the finding costs."""
        return WEIGHTS.get(self.kind, 3)


@dataclass(frozen=True)
class Assessment:
    """The score of a site and the findings behind it."""

    score: int
    findings: tuple[Finding, ...]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def _readers(ledger: Ledger, site: Site) -> list[Finding]:
    latest: dict[str, dict[str, Any]] = {}
    for row in ledger.query(types=[EVENT_READER_STATUS.name], sites=[site.site.id], limit=5000):
        payload = json.loads(row.payload)
        latest.setdefault(str(payload.get("reader_id")), payload)  # newest first
    found = []
    for reader, status in sorted(latest.items()):
        if status.get("online") and not status.get("secure"):
            found.append(
                Finding(
                    "osdp_plaintext",
                    reader,
                    "talks OSDP without the secure channel",
                    "enable the secure channel (require_secure) and key the reader",
                )
            )
        elif status.get("key") == "default":
            found.append(
                Finding(
                    "osdp_default_key",
                    reader,
                    "still uses the install-mode default key",
                    "let the panel set its own key (leave install mode)",
                )
            )
    return found


def _accounts(session: Session, site_id: str, now: datetime) -> list[Finding]:
    found = []
    for user in session.execute(select(User).where(User.disabled.is_(False))).scalars():
        reaches = any(g.site_id in (None, site_id) for g in user.grants)
        if reaches and not user.totp_enrolled:
            found.append(
                Finding(
                    "operator_without_totp",
                    f"user {user.username}",
                    "signs in with a password alone",
                    "enrol an authenticator app (TOTP)",
                )
            )
    tokens = session.execute(
        select(ApiToken).where(ApiToken.revoked_at.is_(None), ApiToken.expires_at.is_(None))
    ).scalars()
    for token in tokens:
        if token.site_id in (None, site_id):
            found.append(
                Finding(
                    "token_never_expires",
                    f"API token {token.name}",
                    "never expires",
                    "issue a replacement with an expiry and revoke this one",
                )
            )
    return found


def _firmware(assets: list[Asset]) -> list[Finding]:
    newest: dict[str, str] = {}
    for asset in assets:
        if asset.model and asset.firmware:
            best = newest.get(asset.model)
            if best is None or _version(asset.firmware) > _version(best):
                newest[asset.model] = asset.firmware
    return [
        Finding(
            "old_firmware",
            a.device_id,
            f"runs firmware {a.firmware}; {newest[a.model]} is installed on another {a.model}",
            f"update it to {newest[a.model]}",
        )
        for a in assets
        if a.model and a.firmware and _version(a.firmware) < _version(newest[a.model])
    ]


def _cameras(settings: SiteUpkeep) -> list[Finding]:
    found = []
    for camera, url in sorted(settings.snapshots.items()):
        parts = urlsplit(url)
        if parts.scheme not in ("rtsp", "http"):
            continue
        if not parts.username:
            found.append(
                Finding(
                    "camera_no_credentials",
                    camera,
                    f"is reached over {parts.scheme.upper()} without credentials",
                    "require a user and password on the camera",
                )
            )
        elif parts.username.lower() in DEFAULT_USERS:
            found.append(
                Finding(
                    "camera_default_user",
                    camera,
                    f"is reached with the vendor's default user {parts.username!r}",
                    "create a dedicated user for Bastion and disable the default one",
                )
            )
    return found


def _server(host: str, cookie_secure: bool | None) -> list[Finding]:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback or cookie_secure is not False:
        return []
    return [
        Finding(
            "plain_http",
            "Bastion",
            f"serves the console over plain HTTP on {host}",
            "serve it behind TLS (a reverse proxy) and keep cookies Secure",
        )
    ]


def assess(
    *,
    session: Session,
    ledger: Ledger,
    site: Site,
    settings: SiteUpkeep,
    host: str,
    cookie_secure: bool | None,
    now: datetime,
) -> Assessment:
    """Score a site's hardening now."""
    assets = list(session.execute(select(Asset).where(Asset.site_id == site.site.id)).scalars())
    findings = [
        *_server(host, cookie_secure),
        *_readers(ledger, site),
        *_accounts(session, site.site.id, now),
        *_firmware(assets),
        *_cameras(settings),
    ]
    score = max(0, 100 - sum(f.weight for f in findings))
    return Assessment(score, tuple(findings))


def record(
    *, session: Session, site_id: str, assessment: Assessment, context: Context, now: datetime
) -> None:
    """Ledger the score (the trend is the series of recorded scores)."""
    detail = {"score": str(assessment.score), "findings": str(len(assessment.findings))}
    stage(
        session,
        make_event(
            EVENT_MAINTENANCE,
            MaintenancePayload(target="hardening", action="updated", detail=detail),
            context=context,
            time=now,
            site=site_id,
        ),
    )


def trend(ledger: Ledger, site_id: str, limit: int = 30) -> list[tuple[datetime, int]]:
    """Return the recorded scores of a site, oldest first."""
    points = []
    for row in ledger.query(types=[EVENT_MAINTENANCE.name], sites=[site_id], limit=5000):
        payload = json.loads(row.payload)
        if payload.get("target") == "hardening":
            points.append((row.time, int(payload.get("detail", {}).get("score", 0))))
        if len(points) >= limit:
            break
    return list(reversed(points))
