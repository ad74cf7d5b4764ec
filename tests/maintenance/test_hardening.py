"""Hardening score: each weakness Bastion can see is a finding with its fix; the score is ledgered."""

from __future__ import annotations

from sqlalchemy import select

from bastion.auth import service as auth_service
from bastion.auth.models import User
from bastion.auth.permissions import Grant, Role
from bastion.core.context import Context
from bastion.core.events import EVENT_READER_STATUS, ReaderStatusPayload
from bastion.maintenance import hardening, planning
from bastion.maintenance.settings import SiteUpkeep

CTX = Context(actor="test")


async def test_every_kind_of_weakness_is_found_with_its_fix_and_the_score_is_recorded(
    hub, site, clock
):
    sid = site.site.id
    for reader, secure, key in (
        ("vault-door-rdr-in", False, "none"),
        ("cash-door-rdr-in", True, "default"),
        ("boh-door-rdr-in", True, "keyed"),
    ):
        await hub.bus.publish(
            EVENT_READER_STATUS,
            ReaderStatusPayload(reader_id=reader, online=True, secure=secure, key=key),
            context=Context(actor="device:panel"),
            site=sid,
        )
    await hub.bus.drain()
    now = clock.now()
    with hub.unit_of_work() as session:
        user = auth_service.create_user(
            session=session,
            username="night-op",
            password="correct horse battery staple",
            grants=[Grant(Role.OPERATOR, sid)],
            clock=clock,
            context=CTX,
        )
        auth_service.create_user(
            session=session,
            username="elsewhere",
            password="correct horse battery staple",
            grants=[Grant(Role.OPERATOR, "other-site")],
            clock=clock,
            context=CTX,
        )
        auth_service.create_api_token(
            session=session,
            owner=user,
            name="vms",
            role=Role.OPERATOR,
            site_id=sid,
            clock=clock,
            context=CTX,
        )
        for device, firmware in (("cam-vault-1", "10.12.3"), ("cam-vault-2", "9.80.1")):
            planning.update_asset(
                session=session,
                site=site,
                device_id=device,
                changes={"model": "Axis Q3538", "firmware": firmware},
                context=CTX,
                now=now,
            )
    settings = SiteUpkeep(
        snapshots={
            "cam-lobby": "rtsp://10.0.0.21/stream1",
            "cam-cash": "http://admin:admin@10.0.0.22/snap.jpg",
            "cam-pos": "http://bastion:s3cret@10.0.0.23/snap.jpg",
        }
    )
    with hub.db.sessions() as session:
        found = hardening.assess(
            session=session,
            ledger=hub.ledger,
            site=site,
            settings=settings,
            host="0.0.0.0",
            cookie_secure=False,
            now=now,
        )
        assert session.scalar(select(User).where(User.username == "elsewhere")) is not None
    kinds = sorted((f.kind, f.target) for f in found.findings)
    assert kinds == [
        ("camera_default_user", "cam-cash"),
        ("camera_no_credentials", "cam-lobby"),
        ("old_firmware", "cam-vault-2"),
        ("operator_without_totp", "user night-op"),
        ("osdp_default_key", "cash-door-rdr-in"),
        ("osdp_plaintext", "vault-door-rdr-in"),
        ("plain_http", "Bastion"),
        ("token_never_expires", "API token vms"),
    ]
    assert found.score == 100 - (4 + 5 + 3 + 5 + 6 + 8 + 15 + 4)
    assert all(f.fix for f in found.findings)
    old = next(f for f in found.findings if f.kind == "old_firmware")
    assert "10.12.3 is installed on another Axis Q3538" in old.problem
    with hub.unit_of_work() as session:
        hardening.record(session=session, site_id=sid, assessment=found, context=CTX, now=now)
    assert [score for _, score in hardening.trend(hub.ledger, sid)] == [found.score]


def test_a_loopback_console_and_a_quiet_site_score_100(hub, site, clock):
    with hub.db.sessions() as session:
        found = hardening.assess(
            session=session,
            ledger=hub.ledger,
            site=site,
            settings=SiteUpkeep(),
            host="127.0.0.1",
            cookie_secure=False,
            now=clock.now(),
        )
    assert (found.score, found.findings) == (100, ())
