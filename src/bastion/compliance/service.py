"""The compliance domain in the database: settings, records, overrides, actions and runs.

A check of a stored site reads its records from here, from the people domain (visits,
training, access reviews) and from the cash domain (closing counts), so the rules see
what the site really did. Every change is ledgered through the caller's session.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.cash.models import CashCount
from bastion.compliance import engine
from bastion.compliance.models import (
    ComplianceOverride,
    ComplianceRecord,
    ComplianceRun,
    ComplianceSettings,
    CorrectiveAction,
)
from bastion.compliance.packs import STATES, Pack, apply_override, load_pack
from bastion.compliance.policy import policy
from bastion.compliance.profile import Profile, first_error
from bastion.compliance.records import Record, Records
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import EVENT_COMPLIANCE, CompliancePayload, make_event
from bastion.people.models import AccessConfirmation, Person, TrainingRecord, Visit
from bastion.site.schemas import Site
from bastion.store.ledger import stage

Action = Literal[
    "record_added",
    "incident_reported",
    "override_set",
    "profile_set",
    "hold_placed",
    "hold_released",
    "action_opened",
    "action_closed",
    "checked",
    "purged",
]
_STATE = re.compile(r"\b([A-Z]{2})\s+\d{5}(?:-\d{4})?\b")
RECORD_KINDS = (
    "attestation",
    "inventory_count",
    "full_inventory",
    "inventory_reconciliation",
    "roster_review",
    "security_assessment",
    "vault_access_log",
    "failure_test",
    "traceability_upload",
    "closing_count",
    "incident",
)


def ledger(
    session: Session,
    site_id: str,
    action: Action,
    target: str,
    context: Context,
    now: datetime,
    **detail: str,
) -> None:
    """Stage a compliance event (ids and kinds only)."""
    stage(
        session,
        make_event(
            EVENT_COMPLIANCE,
            CompliancePayload(action=action, target=target, detail=detail),
            context=context,
            time=now,
            site=site_id,
        ),
    )


# --- settings ---------------------------------------------------------------------------------


def settings_of(session: Session, site_id: str) -> ComplianceSettings | None:
    """Return a site's stored settings, if any."""
    return session.get(ComplianceSettings, site_id)


def profile_of(session: Session, site_id: str) -> Profile:
    """Return a site's profile (empty when none was stored)."""
    row = settings_of(session, site_id)
    return Profile.model_validate(row.profile) if row is not None else Profile()


def state_of(session: Session, site: Site) -> str | None:
    """Return the site's state: the setting, the profile, else the two letters before the ZIP."""
    row = settings_of(session, site.site.id)
    if row is not None and row.state:
        return row.state
    profile = profile_of(session, site.site.id)
    if profile.state:
        return profile.state
    found = _STATE.search(site.site.address)
    return found.group(1) if found and found.group(1) in STATES else None


def set_settings(
    *,
    session: Session,
    site_id: str,
    state: str | None,
    license: str | None,
    profile: dict[str, Any],
    context: Context,
    now: datetime,
) -> ComplianceSettings:
    """Store a site's state, licence and profile; a bad profile is a clear InvalidInput."""
    if state is not None and state not in STATES:
        raise InvalidInput(f"no rule pack for state {state!r}; we have {', '.join(STATES)}")
    try:
        parsed = Profile.model_validate(profile)
    except ValidationError as exc:
        where, message = first_error(exc)
        raise InvalidInput(f"profile.{where}: {message}") from None
    row = settings_of(session, site_id)
    if row is None:
        row = ComplianceSettings(site_id=site_id)
        session.add(row)
    row.state, row.license = state, license
    row.profile = parsed.model_dump(mode="json", exclude_defaults=True)
    row.updated_at, row.updated_by = now, context.actor
    ledger(session, site_id, "profile_set", site_id, context, now, state=state or "")
    return row


# --- records ----------------------------------------------------------------------------------


def add_record(
    *,
    session: Session,
    site_id: str,
    kind: str,
    at: datetime,
    by: str | None,
    context: Context,
    now: datetime,
    rule: str | None = None,
    document: str | None = None,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> ComplianceRecord:
    """Keep a dated record (a count, a review, an attestation) and ledger it."""
    if kind not in RECORD_KINDS:
        raise InvalidInput(f"unknown record kind {kind!r}; known: {', '.join(RECORD_KINDS)}")
    if kind == "attestation" and (not rule or not document):
        raise InvalidInput("an attestation names its rule and attaches a document")
    if at > now + timedelta(minutes=5):
        raise InvalidInput("a record cannot be dated in the future")
    row = ComplianceRecord(
        id=new_id(),
        site_id=site_id,
        kind=kind,
        rule=rule,
        at=at,
        by_name=by,
        document=document,
        note=note,
        detail=detail or {},
        created_at=now,
        created_by=context.actor,
    )
    session.add(row)
    ledger(session, site_id, "record_added", row.id, context, now, kind=kind, rule=rule or "")
    return row


def list_records(session: Session, site_id: str, kind: str | None = None) -> list[ComplianceRecord]:
    """Return a site's records, newest first."""
    stmt = select(ComplianceRecord).where(ComplianceRecord.site_id == site_id)
    if kind is not None:
        stmt = stmt.where(ComplianceRecord.kind == kind)
    return list(session.execute(stmt.order_by(ComplianceRecord.at.desc())).scalars())


def get_record(session: Session, site_id: str, record_id: str) -> ComplianceRecord:
    """Return a record of this site (NotFound when unknown or elsewhere)."""
    row = session.get(ComplianceRecord, record_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no compliance record {record_id!r} at site {site_id}")
    return row


def _visit_record(visit: Visit) -> Record:
    return Record(
        kind="visit",
        at=visit.checked_in_at or visit.expected_at,
        ref=f"visit {visit.id}",
        detail={
            "name": bool(visit.name),
            "company": bool(visit.company),
            "purpose": bool(visit.purpose),
            "time_in": visit.checked_in_at is not None,
            "time_out": visit.checked_out_at is not None,
            "badge_number": bool(visit.badge_number or visit.credential_id),
            "escort": bool(visit.host_id),
        },
    )


def gather(session: Session, site_id: str) -> Records:
    """Return every record the checks read for a site."""
    items: list[Record] = []
    for row in list_records(session, site_id):
        items.append(
            Record(
                kind=row.kind,
                at=row.at,
                by=row.by_name or "",
                rule=row.rule,
                ref=f"record {row.id}",
                detail={**row.detail, **({"document": row.document} if row.document else {})},
            )
        )
    visits = session.execute(
        select(Visit).where(Visit.site_id == site_id, Visit.status == "checked_out")
    ).scalars()
    items.extend(_visit_record(v) for v in visits)
    people = session.execute(
        select(Person.id).where(Person.site_id == site_id, Person.status == "active")
    ).scalars()
    ids = list(people)
    if ids:
        for t in session.execute(
            select(TrainingRecord).where(TrainingRecord.person_id.in_(ids))
        ).scalars():
            expires = t.expires_at.isoformat() if t.expires_at else None
            items.append(
                Record(
                    kind="training",
                    at=t.completed_at,
                    ref=f"person {t.person_id}",
                    detail={"course": t.course, "expires_at": expires},
                )
            )
        for c in session.execute(
            select(AccessConfirmation).where(AccessConfirmation.person_id.in_(ids))
        ).scalars():
            items.append(Record(kind="access_review", at=c.confirmed_at, by=c.confirmed_by))
    for count in session.execute(
        select(CashCount).where(
            CashCount.site_id == site_id, CashCount.kind == "closing", CashCount.status != "open"
        )
    ).scalars():
        if count.completed_at is not None:
            items.append(
                Record(kind="closing_count", at=count.completed_at, ref=f"cash count {count.id}")
            )
    return Records(items=tuple(items), available=True)


# --- overrides --------------------------------------------------------------------------------


def pack_for(session: Session, site_id: str, state: str, data_dir: Path | None) -> Pack:
    """Return the state's pack with the data directory's local rules and the site's overrides."""
    pack = load_pack(state, data_dir)
    rows = session.execute(
        select(ComplianceOverride).where(ComplianceOverride.site_id == site_id)
    ).scalars()
    for row in rows:
        if row.rule.split("-")[0] == state:
            apply_override(pack, row.rule, row.params, row.reason)
    return pack


def set_override(
    *,
    session: Session,
    site_id: str,
    state: str,
    rule: str,
    params: dict[str, Any],
    reason: str,
    data_dir: Path | None,
    context: Context,
    now: datetime,
) -> ComplianceOverride:
    """Change a rule's parameters at a site, with a reason; bad parameters are refused."""
    if len(reason.strip()) < 3:
        raise InvalidInput("give the reason for the change")
    pack = load_pack(state, data_dir)
    try:
        apply_override(pack, rule, params, reason)
    except Exception as exc:  # ConfigError: name the field in the message
        raise InvalidInput(str(exc)) from None
    row = session.get(ComplianceOverride, (site_id, rule))
    if row is None:
        row = ComplianceOverride(site_id=site_id, rule=rule)
        session.add(row)
    row.params, row.reason, row.set_at, row.set_by = params, reason.strip(), now, context.actor
    ledger(session, site_id, "override_set", rule, context, now, params=",".join(sorted(params)))
    return row


# --- corrective actions -----------------------------------------------------------------------


def open_action(
    *,
    session: Session,
    site_id: str,
    rule: str,
    title: str,
    owner: str,
    due_on: date,
    context: Context,
    now: datetime,
) -> CorrectiveAction:
    """Open a corrective action for a finding."""
    if not owner.strip():
        raise InvalidInput("a corrective action needs an owner")
    row = CorrectiveAction(
        id=new_id(),
        site_id=site_id,
        rule=rule,
        title=title[:200],
        owner=owner.strip(),
        due_on=due_on,
        status="open",
        opened_at=now,
        opened_by=context.actor,
    )
    session.add(row)
    ledger(session, site_id, "action_opened", row.id, context, now, rule=rule)
    return row


def close_action(
    *, session: Session, site_id: str, action_id: str, note: str, context: Context, now: datetime
) -> CorrectiveAction:
    """Close a corrective action with what was done."""
    row = session.get(CorrectiveAction, action_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no corrective action {action_id!r} at site {site_id}")
    if row.status == "closed":
        raise Conflict("the corrective action is already closed")
    if not note.strip():
        raise InvalidInput("say what was done to close it")
    row.status, row.closed_at, row.closed_by, row.note = "closed", now, context.actor, note.strip()
    ledger(session, site_id, "action_closed", row.id, context, now, rule=row.rule)
    return row


def list_actions(session: Session, site_id: str) -> list[CorrectiveAction]:
    """Return a site's corrective actions, open ones by due date first."""
    rows = session.execute(
        select(CorrectiveAction).where(CorrectiveAction.site_id == site_id)
    ).scalars()
    return sorted(rows, key=lambda a: (a.status != "open", a.due_on, a.opened_at))


# --- checking ---------------------------------------------------------------------------------


def check_site(
    *,
    session: Session,
    site: Site,
    data_dir: Path | None,
    context: Context,
    now: datetime,
    state: str | None = None,
    keep: bool = True,
) -> engine.Report:
    """Check a stored site against its state's rules; keep the run and ledger its counts."""
    state = state or state_of(session, site)
    if state is None:
        raise InvalidInput(
            "the site's state is unknown: set it in the compliance settings "
            "(or put the ZIP code in the site address)"
        )
    settings = settings_of(session, site.site.id)
    pack = pack_for(session, site.site.id, state, data_dir)
    profile = profile_of(session, site.site.id)
    # The server keeps each record class as long as the retention policy says (never
    # shorter than the state's minimum): that, not the raw setting, is what is checked.
    kept = {name: p.days for name, p in policy(pack, profile).items()}
    profile = profile.model_copy(update={"retention": kept})
    report = engine.run(
        pack=pack,
        site=site,
        profile=profile,
        records=gather(session, site.site.id),
        now=now,
        license=settings.license if settings is not None else None,
    )
    if not keep:
        return report
    run = ComplianceRun(
        id=new_id(),
        site_id=site.site.id,
        state=state,
        at=now,
        score=report.score(),
        counts=report.counts(),
        findings=[f.as_json() for f in report.findings],
    )
    session.add(run)
    counts = report.counts()
    ledger(
        session,
        site.site.id,
        "checked",
        run.id,
        context,
        now,
        state=state,
        **{k: str(v) for k, v in counts.items()},
    )
    return report


def last_run(session: Session, site_id: str) -> ComplianceRun | None:
    """Return the newest stored run of a site."""
    return session.execute(
        select(ComplianceRun)
        .where(ComplianceRun.site_id == site_id)
        .order_by(ComplianceRun.at.desc())
        .limit(1)
    ).scalar_one_or_none()


SYSTEM = Context(actor="system:compliance")
"""Actor of the checks the server runs by itself."""
