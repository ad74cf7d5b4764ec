"""Offboarding in one action, and the report that proves nothing of the person's access is left.

:func:`offboard` cuts everything at once in the caller's transaction: the person is
offboarded and every credential revoked (the engine denies them before this returns),
every level taken away, the linked operator account disabled (its console sessions
and API tokens end), the notification contact taken out of every call tree and made
inactive, and a checklist of shared secrets to rotate is opened. :func:`report`
queries each source afresh and lists whatever is still there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bastion.access import service as access_service
from bastion.access.engine import AccessEngine
from bastion.access.models import Credential, LevelAssignment
from bastion.auth import service as auth_service
from bastion.auth.models import ApiToken, User, UserSession
from bastion.core.clock import Clock
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import EVENT_OFFBOARDING, OffboardingPayload, make_event
from bastion.notify import service as notify_service
from bastion.notify.models import CallTree, Contact, Tier, TierMember
from bastion.notify.schemas import ContactUpdate
from bastion.people import service as people_service
from bastion.people.models import (
    Offboarding,
    PersonKind,
    PersonStatus,
    SecretRotation,
)
from bastion.store.ledger import stage

SECRET_KINDS = ("safe_combination", "alarm_code", "shared_account", "door_code", "other")
DEFAULT_SECRETS: tuple[tuple[str, str], ...] = (
    ("safe_combination", "Safe and vault combinations the person knew"),
    ("alarm_code", "Alarm panel user and duress codes"),
    ("shared_account", "Shared accounts (POS, tracking system, e-mail, Wi-Fi)"),
)


@dataclass(frozen=True)
class SecretItem:
    """A shared secret to rotate: its kind and a label (never the secret itself)."""

    kind: str
    label: str


def _event(
    session: Session,
    offboarding: Offboarding,
    action: str,
    detail: dict[str, str],
    context: Context,
    now: datetime,
) -> None:
    stage(
        session,
        make_event(
            EVENT_OFFBOARDING,
            OffboardingPayload(
                offboarding_id=offboarding.id,
                subject=offboarding.person_id,
                action=action,
                detail=detail,
            ),
            context=context,
            time=now,
        ),
    )


def _remove_from_call_trees(session: Session, contact_id: str) -> list[str]:
    """Take a contact out of every tier; drop tiers left empty and renumber the rest.

    Return the ids of the trees changed.
    """
    members = list(
        session.execute(select(TierMember).where(TierMember.contact_id == contact_id)).scalars()
    )
    tree_ids = sorted({m.tier.tree_id for m in members})
    for member in members:
        session.delete(member)
    session.flush()
    for tree_id in tree_ids:
        tree = session.get(CallTree, tree_id)
        if tree is None:
            continue
        session.refresh(tree)
        for tier in list(tree.tiers):
            session.refresh(tier)
            if not tier.members:
                tree.tiers.remove(tier)
        session.flush()
        for index, tier in enumerate(sorted(tree.tiers, key=lambda t: t.position)):
            if tier.position != index:
                tier.position = index
                session.flush()
    return tree_ids


def offboard(
    *,
    session: Session,
    person_id: str,
    reason: str,
    secrets: list[SecretItem] | None,
    clock: Clock,
    context: Context,
    engine: AccessEngine | None = None,
) -> Offboarding:
    """Cut every access of a leaver in one transaction and open the secrets checklist.

    ``secrets`` None opens the default checklist (safe combinations, alarm codes,
    shared accounts). A person offboarded this way once cannot be offboarded again.
    """
    now = clock.now()
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise InvalidInput("give a reason of 1–200 characters for the offboarding")
    items = [SecretItem(k, v) for k, v in DEFAULT_SECRETS] if secrets is None else secrets
    for item in items:
        if item.kind not in SECRET_KINDS:
            raise InvalidInput(f"unknown secret kind {item.kind!r}; use {', '.join(SECRET_KINDS)}")
        if not item.label.strip() or len(item.label) > 120:
            raise InvalidInput("a secret to rotate needs a label of 1–120 characters")
    person = people_service.get_person(session=session, person_id=person_id)
    if person.kind == PersonKind.VISITOR:
        raise InvalidInput("visitors are checked out, not offboarded")
    earlier = session.scalar(select(Offboarding.id).where(Offboarding.person_id == person.id))
    if earlier is not None:
        raise Conflict(f"person {person_id!r} was already offboarded ({earlier})")
    # Credentials first: the engine denies them before anything else happens.
    active_creds = [
        c
        for c in access_service.list_credentials(session=session, person_id=person.id)
        if not c.revoked
    ]
    access_service.set_person_status(
        session=session,
        person_id=person.id,
        status=PersonStatus.OFFBOARDED.value,
        reason=reason,
        context=context,
        now=now,
        engine=engine,
    )
    levels = [
        a.level_id
        for a in session.execute(
            select(LevelAssignment).where(LevelAssignment.person_id == person.id)
        ).scalars()
    ]
    for level_id in levels:
        access_service.unassign_level(
            session=session,
            person_id=person.id,
            level_id=level_id,
            context=context,
            now=now,
            engine=engine,
        )
    sessions_ended = tokens_revoked = 0
    if person.user_id is not None:
        user = session.get(User, person.user_id)
        if user is not None:
            sessions_ended = _count(session, _live_sessions(person.user_id, now))
            tokens_revoked = _count(session, _live_tokens(person.user_id, now))
            # The link was made by someone holding users:manage; the leaver's account
            # goes whatever its role, so no authority check here.
            auth_service.disable_user(session=session, user=user, clock=clock, context=context)
    trees: list[str] = []
    if person.contact_id is not None and session.get(Contact, person.contact_id) is not None:
        trees = _remove_from_call_trees(session, person.contact_id)
        notify_service.update_contact(
            session=session,
            contact_id=person.contact_id,
            data=ContactUpdate(active=False),
            context=context,
            now=now,
        )
    offboarding = Offboarding(
        id=new_id(),
        person_id=person.id,
        reason=reason,
        summary={
            "credentials_revoked": len(active_creds),
            "levels_removed": len(levels),
            "sessions_ended": sessions_ended,
            "tokens_revoked": tokens_revoked,
            "call_trees_left": len(trees),
            "secrets_to_rotate": len(items),
        },
        started_at=now,
        started_by=context.actor,
        secrets=[SecretRotation(kind=i.kind, label=i.label.strip()) for i in items],
    )
    if not items:
        offboarding.completed_at = now
    session.add(offboarding)
    session.flush()
    _event(
        session,
        offboarding,
        "started",
        {k: str(v) for k, v in offboarding.summary.items()},
        context,
        now,
    )
    if offboarding.completed_at is not None:
        _event(session, offboarding, "completed", {}, context, now)
    return offboarding


def _live_sessions(user_id: int, now: datetime):  # type: ignore[no-untyped-def]
    return select(UserSession.id).where(
        UserSession.user_id == user_id,
        UserSession.ended_at.is_(None),
        UserSession.expires_at > now,
    )


def _live_tokens(user_id: int, now: datetime):  # type: ignore[no-untyped-def]
    return select(ApiToken.id).where(
        ApiToken.owner_id == user_id,
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
    )


def _count(session: Session, stmt) -> int:  # type: ignore[no-untyped-def]
    return len(list(session.execute(stmt).scalars()))


def get_offboarding(*, session: Session, offboarding_id: str) -> Offboarding:
    """Return an offboarding or raise NotFound."""
    row = session.get(Offboarding, offboarding_id)
    if row is None:
        raise NotFound(f"no offboarding {offboarding_id!r}")
    return row


def list_offboardings(*, session: Session, open_only: bool = False) -> list[Offboarding]:
    """Return offboardings, newest first."""
    stmt = select(Offboarding).order_by(Offboarding.started_at.desc(), Offboarding.id.desc())
    if open_only:
        stmt = stmt.where(Offboarding.completed_at.is_(None))
    return list(session.execute(stmt).scalars())


def mark_rotated(
    *,
    session: Session,
    offboarding_id: str,
    item_id: int,
    note: str | None,
    context: Context,
    now: datetime,
) -> Offboarding:
    """Record that a shared secret was changed; the last one completes the checklist."""
    offboarding = get_offboarding(session=session, offboarding_id=offboarding_id)
    item = next((s for s in offboarding.secrets if s.id == item_id), None)
    if item is None:
        raise NotFound(f"offboarding {offboarding_id!r} has no checklist item {item_id}")
    if item.rotated_at is not None:
        raise Conflict(f"checklist item {item_id} was already marked rotated")
    if note is not None and len(note) > 200:
        raise InvalidInput("a note is at most 200 characters")
    item.rotated_at = now
    item.rotated_by = context.actor
    item.note = note.strip() if note else None
    session.flush()
    _event(
        session,
        offboarding,
        "secret_rotated",
        {"item": str(item.id), "kind": item.kind},
        context,
        now,
    )
    if all(s.rotated_at is not None for s in offboarding.secrets):
        offboarding.completed_at = now
        session.flush()
        _event(session, offboarding, "completed", {}, context, now)
    return offboarding


# --- the proof -----------------------------------------------------------------------------------


@dataclass
class Source:
    """One place access can live, and what of the person's access is still found there."""

    name: str
    remaining: list[str] = field(default_factory=list)

    @property
    def clear(self) -> bool:
        """Return True when nothing is left in this source."""
        return not self.remaining


@dataclass
class OffboardingReport:
    """Every source queried afresh at ``checked_at``."""

    offboarding_id: str
    person_id: str
    person_status: str
    checked_at: datetime
    sources: list[Source]
    secrets_outstanding: list[str]

    @property
    def access_clear(self) -> bool:
        """Return True when no credential, level, session, token or call tree is left."""
        return all(s.clear for s in self.sources)

    @property
    def complete(self) -> bool:
        """Return True when access is clear and every shared secret was rotated."""
        return self.access_clear and not self.secrets_outstanding


def report(
    *,
    session: Session,
    offboarding_id: str,
    now: datetime,
    engine: AccessEngine | None = None,
) -> OffboardingReport:
    """Query every source of access again and list what of the leaver's access remains."""
    offboarding = get_offboarding(session=session, offboarding_id=offboarding_id)
    session.expire_all()
    person = people_service.get_person(session=session, person_id=offboarding.person_id)
    pid = person.id
    sources: list[Source] = []
    status = Source("cardholder status")
    if person.status != PersonStatus.OFFBOARDED:
        status.remaining.append(f"person is {person.status}")
    sources.append(status)
    creds = Source("credentials")
    for cred in session.execute(select(Credential).where(Credential.person_id == pid)).scalars():
        if not cred.revoked and (cred.expires_at is None or cred.expires_at > now):
            creds.remaining.append(f"{cred.kind} credential {cred.id} is not revoked")
    sources.append(creds)
    levels = Source("access levels")
    levels.remaining = [
        f"holds level {lv}"
        for lv in session.execute(
            select(LevelAssignment.level_id).where(LevelAssignment.person_id == pid)
        ).scalars()
    ]
    sources.append(levels)
    if engine is not None:
        live = Source("access engine")
        spec = engine.snapshot.people.get(pid)
        if spec is not None and spec.status == PersonStatus.ACTIVE:
            live.remaining.append("the running engine still sees the person as active")
        for entry in engine.snapshot.creds.values():
            if entry.person_id == pid and not entry.revoked:
                live.remaining.append(f"the running engine honours credential {entry.id}")
        sources.append(live)
    account = Source("operator account")
    if person.user_id is not None:
        user = session.get(User, person.user_id)
        if user is not None and not user.disabled:
            account.remaining.append(f"account {user.username} is enabled")
        for sid in session.execute(_live_sessions(person.user_id, now)).scalars():
            account.remaining.append(f"console session {sid} is live")
        for tid in session.execute(_live_tokens(person.user_id, now)).scalars():
            account.remaining.append(f"API token {tid} is live")
    sources.append(account)
    trees = Source("call trees")
    if person.contact_id is not None:
        contact = session.get(Contact, person.contact_id)
        if contact is not None and contact.active:
            trees.remaining.append(f"notification contact {contact.id} is active")
        for name in session.execute(
            select(CallTree.name)
            .join(Tier, Tier.tree_id == CallTree.id)
            .join(TierMember, TierMember.tier_id == Tier.id)
            .where(TierMember.contact_id == person.contact_id)
            .distinct()
        ).scalars():
            trees.remaining.append(f"still in call tree {name}")
    sources.append(trees)
    outstanding = [f"{s.kind}: {s.label}" for s in offboarding.secrets if s.rotated_at is None]
    return OffboardingReport(
        offboarding_id=offboarding.id,
        person_id=pid,
        person_status=person.status,
        checked_at=now,
        sources=sources,
        secrets_outstanding=outstanding,
    )


def person_offboarding(*, session: Session, person_id: str) -> Offboarding | None:
    """Return the person's offboarding, if any."""
    return session.scalar(select(Offboarding).where(Offboarding.person_id == person_id))


__all__ = [
    "DEFAULT_SECRETS",
    "SECRET_KINDS",
    "OffboardingReport",
    "SecretItem",
    "Source",
    "get_offboarding",
    "list_offboardings",
    "mark_rotated",
    "offboard",
    "person_offboarding",
    "report",
]
