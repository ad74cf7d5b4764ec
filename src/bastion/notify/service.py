"""Contacts, call trees, templates and call-tree runs: configuration checks and run bookkeeping.

Keyword-only functions taking a session; they stage their ledger events with the
changes and never commit (the caller's unit of work does). Nothing here sends a
message: :mod:`bastion.notify.runtime` does, in worker threads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from bastion.core.context import Context, new_id
from bastion.core.errors import ConfigError, Conflict, Forbidden, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_ADMIN_ACTION,
    EVENT_NOTIFY_ACK,
    EVENT_NOTIFY_DELIVERY,
    EVENT_NOTIFY_ESCALATED,
    EVENT_NOTIFY_RUN,
    EVENT_NOTIFY_SENT,
    AdminActionPayload,
    NotifyAckPayload,
    NotifyDeliveryPayload,
    NotifyEscalationPayload,
    NotifyRunPayload,
    make_event,
)
from bastion.notify import ack as ack_links
from bastion.notify import channels as channel_checks
from bastion.notify import templates as tpl
from bastion.notify.models import (
    CallTree,
    Channel,
    Contact,
    Delivery,
    Recipient,
    Run,
    Template,
    Tier,
    TierMember,
    contact_name_key,
)
from bastion.notify.schemas import (
    CallTreeCreate,
    CallTreeRead,
    CallTreeRun,
    CallTreeUpdate,
    ChannelIn,
    ContactCreate,
    ContactUpdate,
    DeliveryRead,
    MemberRead,
    RecipientRead,
    TemplateCreate,
    TemplateUpdate,
    TierIn,
    TierRead,
)
from bastion.site import service as site_service
from bastion.site.schemas import SiteInfo
from bastion.store.ledger import stage

FINAL_RECIPIENT_STATES = frozenset({"unreachable", "quiet_hours"})
REACHED_STATES = frozenset({"delivered", "drill", "acknowledged"})
DEFAULT_TITLE = "Bastion alert"


# --- shared helpers ---------------------------------------------------------------------------


def _admin(session: Session, *, action: str, target: str, context: Context, now: datetime) -> None:
    stage(
        session,
        make_event(
            EVENT_ADMIN_ACTION,
            AdminActionPayload(action=action, target=target),
            context=context,
            time=now,
        ),
    )


# --- contacts ---------------------------------------------------------------------------------


def _channels_from(items: Iterable[ChannelIn]) -> list[Channel]:
    rows: list[Channel] = []
    for index, item in enumerate(items):
        channel_checks.check_channel(item.kind, item.url, field=f"channels[{index}].url")
        rows.append(
            Channel(
                position=index,
                kind=item.kind,
                url=item.url,
                hint=channel_checks.hint_for(item.kind, item.url),
                rate_limit=item.rate_limit,
                rate_window_s=item.rate_window_s,
            )
        )
    if not rows:
        raise ConfigError("a contact needs at least one channel", field="channels")
    return rows


def _check_name_free(session: Session, model: Any, name: str, *, except_id: str | None) -> None:
    if model is Contact:  # names are encrypted: compare their keyed hashes
        found = session.scalar(select(Contact.id).where(Contact.name_key == contact_name_key(name)))
    else:
        found = session.scalar(select(model.id).where(model.name == name))
    if found is not None and found != except_id:
        raise Conflict(f"the name {name!r} is already used")


def create_contact(
    *, session: Session, data: ContactCreate, context: Context, now: datetime
) -> Contact:
    """Create a contact after checking every channel (kind, Apprise URL, addresses)."""
    _check_name_free(session, Contact, data.name, except_id=None)
    contact = Contact(
        id=new_id(),
        name=data.name,
        role=data.role,
        quiet_start=data.quiet_start,
        quiet_end=data.quiet_end,
        timezone=data.timezone,
        active=data.active,
        created_at=now,
        updated_at=now,
        channels=_channels_from(data.channels),
    )
    session.add(contact)
    session.flush()
    _admin(
        session,
        action="notify.contact.create",
        target=f"notify_contact:{contact.id}",
        context=context,
        now=now,
    )
    return contact


def get_contact(*, session: Session, contact_id: str) -> Contact:
    """Return a contact by id or name; raise NotFound."""
    contact = session.get(Contact, contact_id) or session.scalar(
        select(Contact).where(Contact.name_key == contact_name_key(contact_id))
    )
    if contact is None:
        raise NotFound(f"no contact {contact_id!r}")
    return contact


def list_contacts(*, session: Session, role: str | None = None) -> list[Contact]:
    """Return the contacts by name, optionally only those with ``role``."""
    query = select(Contact).options(selectinload(Contact.channels))
    if role is not None:
        query = query.where(Contact.role == role)
    # Names are encrypted, so the database cannot sort them.
    return sorted(session.scalars(query), key=lambda c: (c.name.casefold(), c.name))


def update_contact(
    *, session: Session, contact_id: str, data: ContactUpdate, context: Context, now: datetime
) -> Contact:
    """Change a contact; a new channel list replaces the old one after being checked."""
    contact = get_contact(session=session, contact_id=contact_id)
    if data.name is not None:
        _check_name_free(session, Contact, data.name, except_id=contact.id)
        contact.name = data.name
    if data.role is not None:
        contact.role = data.role
    if data.timezone is not None:
        contact.timezone = data.timezone
    if data.active is not None:
        contact.active = data.active
    if data.clear_quiet_hours:
        contact.quiet_start = contact.quiet_end = None
    elif data.quiet_start is not None or data.quiet_end is not None:
        if data.quiet_start is None or data.quiet_end is None:
            raise InvalidInput("quiet hours need both quiet_start and quiet_end")
        contact.quiet_start, contact.quiet_end = data.quiet_start, data.quiet_end
    if data.channels is not None:
        new_channels = _channels_from(data.channels)
        contact.channels.clear()
        session.flush()
        contact.channels.extend(new_channels)
    contact.updated_at = now
    session.flush()
    _admin(
        session,
        action="notify.contact.update",
        target=f"notify_contact:{contact.id}",
        context=context,
        now=now,
    )
    return contact


def delete_contact(*, session: Session, contact_id: str, context: Context, now: datetime) -> None:
    """Delete a contact that is in no call tree."""
    contact = get_contact(session=session, contact_id=contact_id)
    trees = session.scalars(
        select(CallTree.name)
        .join(Tier, Tier.tree_id == CallTree.id)
        .join(TierMember, TierMember.tier_id == Tier.id)
        .where(TierMember.contact_id == contact.id)
        .distinct()
    ).all()
    if trees:
        raise Conflict(f"the contact is still in call tree(s) {', '.join(sorted(trees))}")
    session.delete(contact)
    session.flush()
    _admin(
        session,
        action="notify.contact.delete",
        target=f"notify_contact:{contact.id}",
        context=context,
        now=now,
    )


def in_quiet_hours(contact: Contact, now: datetime) -> bool:
    """Return True when ``now`` falls in the contact's quiet hours (local time)."""
    if not contact.quiet_start or not contact.quiet_end:
        return False
    local = now.astimezone(ZoneInfo(contact.timezone)).time()
    start = time.fromisoformat(contact.quiet_start)
    end = time.fromisoformat(contact.quiet_end)
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


# --- call trees -------------------------------------------------------------------------------


def _tiers_from(session: Session, tiers: list[TierIn]) -> list[Tier]:
    if not tiers:
        raise ConfigError("a call tree needs at least one tier", field="tiers")
    rows: list[Tier] = []
    for index, tier in enumerate(tiers):
        if not tier.contacts:
            raise ConfigError("a tier needs at least one contact", field=f"tiers[{index}]")
        members: list[TierMember] = []
        seen: set[str] = set()
        for position, ref in enumerate(tier.contacts):
            field = f"tiers[{index}].contacts[{position}]"
            try:
                contact = get_contact(session=session, contact_id=ref)
            except NotFound:
                raise ConfigError(f"no contact {ref!r}", field=field) from None
            if contact.id in seen:
                raise ConfigError(f"{contact.name!r} is twice in the same tier", field=field)
            if not contact.channels:
                raise ConfigError(f"{contact.name!r} has no channel", field=field)
            if not contact.active:
                raise ConfigError(f"{contact.name!r} is inactive", field=field)
            seen.add(contact.id)
            members.append(TierMember(contact_id=contact.id, position=position))
        rows.append(Tier(position=index, ack_timeout_s=tier.ack_timeout_s, members=members))
    return rows


def create_tree(
    *, session: Session, data: CallTreeCreate, context: Context, now: datetime
) -> CallTree:
    """Create a call tree; empty trees, empty tiers and unreachable contacts are rejected."""
    _check_name_free(session, CallTree, data.name, except_id=None)
    tree = CallTree(
        id=new_id(),
        name=data.name,
        description=data.description,
        site_id=data.site_id,
        created_at=now,
        updated_at=now,
        tiers=_tiers_from(session, data.tiers),
    )
    session.add(tree)
    session.flush()
    _admin(
        session,
        action="notify.tree.create",
        target=f"notify_tree:{tree.id}",
        context=context,
        now=now,
    )
    return tree


def get_tree(*, session: Session, tree_id: str) -> CallTree:
    """Return a call tree by id or name; raise NotFound."""
    tree = session.get(CallTree, tree_id) or session.scalar(
        select(CallTree).where(CallTree.name == tree_id)
    )
    if tree is None:
        raise NotFound(f"no call tree {tree_id!r}")
    return tree


def list_trees(*, session: Session) -> list[CallTree]:
    """Return every call tree by name."""
    return list(session.scalars(select(CallTree).order_by(CallTree.name)))


def update_tree(
    *, session: Session, tree_id: str, data: CallTreeUpdate, context: Context, now: datetime
) -> CallTree:
    """Change a call tree; new tiers replace the old ones after being checked."""
    tree = get_tree(session=session, tree_id=tree_id)
    if data.name is not None:
        _check_name_free(session, CallTree, data.name, except_id=tree.id)
        tree.name = data.name
    if data.description is not None:
        tree.description = data.description
    if data.site_id is not None:
        tree.site_id = data.site_id
    if data.tiers is not None:
        new_tiers = _tiers_from(session, data.tiers)
        tree.tiers.clear()
        session.flush()
        tree.tiers.extend(new_tiers)
    tree.updated_at = now
    session.flush()
    _admin(
        session,
        action="notify.tree.update",
        target=f"notify_tree:{tree.id}",
        context=context,
        now=now,
    )
    return tree


def delete_tree(*, session: Session, tree_id: str, context: Context, now: datetime) -> None:
    """Delete a call tree (its past runs stay)."""
    tree = get_tree(session=session, tree_id=tree_id)
    session.delete(tree)
    session.flush()
    _admin(
        session,
        action="notify.tree.delete",
        target=f"notify_tree:{tree.id}",
        context=context,
        now=now,
    )


def tree_problem(*, session: Session, tree: str) -> str | None:
    """Return why starting a call tree would reach nobody (missing, empty, nobody active)."""
    try:
        found = get_tree(session=session, tree_id=tree)
    except NotFound:
        return f"call tree {tree!r} does not exist"
    members = [m for t in found.tiers for m in t.members]
    if not members:
        return f"call tree {found.name!r} has nobody in it"
    contacts = [session.get(Contact, m.contact_id) for m in members]
    if not any(c is not None and c.active and c.channels for c in contacts):
        return f"call tree {found.name!r} has no active contact with a way to reach them"
    return None


def tree_read(*, session: Session, tree: CallTree) -> CallTreeRead:
    """Return the API shape of a call tree, with member names."""
    ids = {m.contact_id for t in tree.tiers for m in t.members}
    names = dict(session.execute(select(Contact.id, Contact.name).where(Contact.id.in_(ids))).all())
    return CallTreeRead(
        id=tree.id,
        name=tree.name,
        description=tree.description,
        site_id=tree.site_id,
        tiers=[
            TierRead(
                position=t.position,
                ack_timeout_s=t.ack_timeout_s,
                members=[
                    MemberRead(contact_id=m.contact_id, name=names.get(m.contact_id, "?"))
                    for m in t.members
                ],
            )
            for t in tree.tiers
        ],
    )


# --- templates --------------------------------------------------------------------------------


def save_template(
    *, session: Session, data: TemplateCreate, context: Context, now: datetime
) -> Template:
    """Create or replace a template after a strict check of its variables."""
    tpl.check_template(
        template_id=data.id, title=data.title, body=data.body, variables=data.variables
    )
    row = session.get(Template, data.id)
    action = "notify.template.update"
    if row is None:
        row = Template(id=data.id, created_at=now)
        session.add(row)
        action = "notify.template.create"
    row.scenario = data.scenario
    row.title = data.title
    row.body = data.body
    row.variables = list(data.variables)
    row.updated_at = now
    session.flush()
    _admin(session, action=action, target=f"notify_template:{row.id}", context=context, now=now)
    return row


def update_template(
    *, session: Session, template_id: str, data: TemplateUpdate, context: Context, now: datetime
) -> Template:
    """Change part of a template; the result is checked as a whole."""
    row = get_template(session=session, template_id=template_id)
    merged = TemplateCreate(
        id=row.id,
        scenario=data.scenario if data.scenario is not None else row.scenario,
        title=data.title if data.title is not None else row.title,
        body=data.body if data.body is not None else row.body,
        variables=data.variables if data.variables is not None else list(row.variables),
    )
    return save_template(session=session, data=merged, context=context, now=now)


def get_template(*, session: Session, template_id: str) -> Template:
    """Return a template; raise NotFound."""
    row = session.get(Template, template_id)
    if row is None:
        raise NotFound(f"no template {template_id!r}")
    return row


def list_templates(*, session: Session) -> list[Template]:
    """Return every template by id."""
    return list(session.scalars(select(Template).order_by(Template.id)))


def delete_template(*, session: Session, template_id: str, context: Context, now: datetime) -> None:
    """Delete a template."""
    row = get_template(session=session, template_id=template_id)
    session.delete(row)
    session.flush()
    _admin(
        session,
        action="notify.template.delete",
        target=f"notify_template:{template_id}",
        context=context,
        now=now,
    )


def load_default_templates(*, session: Session, context: Context, now: datetime) -> list[Template]:
    """Create the shipped scenario templates that do not exist yet."""
    created: list[Template] = []
    for item in tpl.load_template_file():
        if session.get(Template, str(item["id"])) is None:
            created.append(
                save_template(
                    session=session,
                    data=TemplateCreate.model_validate(item),
                    context=context,
                    now=now,
                )
            )
    return created


# --- runs -------------------------------------------------------------------------------------


def _run_event(
    session: Session,
    run: Run,
    action: str,
    *,
    tier: int,
    context: Context,
    now: datetime,
    detail: str = "",
) -> None:
    stage(
        session,
        make_event(
            EVENT_NOTIFY_RUN,
            NotifyRunPayload(
                run_id=run.id,
                tree_id=run.tree_id,
                template_id=run.template_id,
                action=action,
                tier=tier,
                drill=run.drill,
                emergency=run.emergency,
                detail=detail,
            ),
            context=context,
            time=now,
            site=run.site_id,
        ),
    )


def _run_context(run: Run) -> Context:
    return Context(actor="notify", parent_id=run.context_id)


def _site_values(session: Session, site_id: str | None, now: datetime) -> dict[str, str]:
    """Return the standard variables a run's site gives: name, address and its local time.

    The site is the call tree's, else the only one stored; without one, times read in UTC.
    """
    records = site_service.list_sites(session=session)
    if site_id is not None:
        records = [r for r in records if r.id == site_id]
    if len(records) != 1:
        return {"time": tpl.local_time(now, None)}
    info = SiteInfo.model_validate(records[0].model["site"])
    return {
        "time": tpl.local_time(now, info.timezone),
        "site": info.name,
        "address": info.address,
    }


_CLOCK = re.compile(r"\b\d{1,2}:\d{2}\b")


def _with_time(message: str, when: str | None) -> str:
    """Return a plain message with the site time it was sent, unless it already gives a time.

    ``when`` is None when the run's site is unknown: no UTC time is added for people to misread.
    """
    if when is None or _CLOCK.search(message):
        return message
    return f"{message}\n\nSent {when}."


def start_run(
    *,
    session: Session,
    tree_id: str,
    template_id: str | None,
    variables: Mapping[str, Any],
    context: Context,
    now: datetime,
    message: str | None = None,
    drill: bool = False,
    emergency: bool = False,
) -> tuple[Run, list[Recipient]]:
    """Render the message, record the run and open its first tier; return it with its recipients.

    A missing template variable is an InvalidInput raised before anything is recorded.
    """
    tree = get_tree(session=session, tree_id=tree_id)
    if not tree.tiers:
        raise ConfigError(f"call tree {tree.name!r} has no tier")
    site_values = _site_values(session, tree.site_id, now)
    values: dict[str, Any] = {**site_values, **variables}
    if template_id is not None:
        template = get_template(session=session, template_id=template_id)
        title, body = tpl.render(
            template_id=template.id, title=template.title, body=template.body, values=values
        )
    elif message:
        sent = site_values["time"] if "site" in site_values else None
        title, body = str(values.get("title", DEFAULT_TITLE)), _with_time(message, sent)
    else:
        raise InvalidInput("give a template or a message")
    run = Run(
        id=new_id(),
        tree_id=tree.id,
        tree_name=tree.name,
        template_id=template_id,
        title=title[:300],
        body=body,
        status="active",
        drill=drill,
        emergency=emergency,
        tier_count=len(tree.tiers),
        current_tier=0,
        started_at=now,
        started_by=context.actor,
        context_id=context.id,
        site_id=tree.site_id,
    )
    session.add(run)
    session.flush()
    _run_event(session, run, "started", tier=0, context=context, now=now)
    recipients = _open_tier(session, run, tree, 0, now=now)
    return run, recipients


def _open_tier(
    session: Session, run: Run, tree: CallTree | None, index: int, *, now: datetime
) -> list[Recipient]:
    tree = tree or session.get(CallTree, run.tree_id)
    if tree is None or index >= len(tree.tiers):
        raise NotFound(f"call tree {run.tree_name!r} has no tier {index}")
    tier = tree.tiers[index]
    names = dict(
        session.execute(
            select(Contact.id, Contact.name).where(
                Contact.id.in_([m.contact_id for m in tier.members])
            )
        ).all()
    )
    recipients = [
        Recipient(
            run_id=run.id,
            contact_id=m.contact_id,
            contact_name=names.get(m.contact_id, "?"),
            tier=index,
            status="pending",
            ack_nonce=ack_links.new_nonce(),
        )
        for m in tier.members
    ]
    session.add_all(recipients)
    run.current_tier = index
    run.tier_deadline = now + timedelta(seconds=tier.ack_timeout_s)
    session.flush()
    _run_event(session, run, "tier_started", tier=index, context=_run_context(run), now=now)
    return recipients


def get_run(*, session: Session, run_id: str) -> Run:
    """Return a run; raise NotFound."""
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"no call-tree run {run_id!r}")
    return run


def list_runs(
    *,
    session: Session,
    active_only: bool = False,
    limit: int = 100,
    site_ids: Iterable[str] | None = None,
) -> list[Run]:
    """Return the newest runs first (of ``site_ids`` and of no site; None: all)."""
    query = select(Run).order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)
    if active_only:
        query = query.where(Run.status == "active")
    if site_ids is not None:
        query = query.where(Run.site_id.in_(sorted(site_ids)) | Run.site_id.is_(None))
    return list(session.scalars(query))


def run_status(*, session: Session, run_id: str) -> CallTreeRun:
    """Return a run with every recipient, its deliveries and acknowledgement."""
    run = get_run(session=session, run_id=run_id)
    deliveries: dict[int, list[DeliveryRead]] = {}
    for row in session.scalars(
        select(Delivery).where(Delivery.run_id == run.id).order_by(Delivery.id)
    ):
        deliveries.setdefault(row.recipient_id, []).append(DeliveryRead.model_validate(row))
    return CallTreeRun(
        id=run.id,
        tree_id=run.tree_id,
        tree_name=run.tree_name,
        template_id=run.template_id,
        title=run.title,
        status=run.status,
        drill=run.drill,
        emergency=run.emergency,
        current_tier=run.current_tier,
        tier_count=run.tier_count,
        tier_deadline=run.tier_deadline,
        started_at=run.started_at,
        acknowledged_at=run.acknowledged_at,
        finished_at=run.finished_at,
        recipients=[
            RecipientRead(
                id=r.id,
                contact_id=r.contact_id,
                contact_name=r.contact_name,
                tier=r.tier,
                status=r.status,
                notified_at=r.notified_at,
                acknowledged_at=r.acknowledged_at,
                ack_method=r.ack_method,
                deliveries=deliveries.get(r.id, []),
            )
            for r in run.recipients
        ],
    )


# --- delivery bookkeeping ---------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedChannel:
    """One channel to try, with its decrypted URL (keep it in memory only)."""

    id: int
    kind: str
    url: str
    rate_limited: bool

    def __repr__(self) -> str:
        return f"PlannedChannel(id={self.id}, kind={self.kind!r}, url=<redacted>)"


@dataclass(frozen=True)
class DeliveryPlan:
    """Everything the sender needs for one recipient, read in one transaction."""

    run_id: str
    recipient_id: int
    contact_id: str
    tier: int
    drill: bool
    emergency: bool
    active: bool
    quiet: bool
    title: str
    body: str
    ack_token: str
    channels: tuple[PlannedChannel, ...]


def plan_delivery(*, session: Session, recipient_id: int, now: datetime) -> DeliveryPlan | None:
    """Return what to send to a pending recipient, or None when the run no longer wants it."""
    recipient = session.get(Recipient, recipient_id)
    if recipient is None or recipient.status != "pending":
        return None
    run = recipient.run
    if run.status not in {"active", "acknowledged"}:
        return None
    contact = session.get(Contact, recipient.contact_id)
    planned: list[PlannedChannel] = []
    if contact is not None:
        for channel in contact.channels:
            since = now - timedelta(seconds=channel.rate_window_s)
            used = session.scalar(
                select(func.count(Delivery.id)).where(
                    Delivery.channel_id == channel.id,
                    Delivery.attempted_at > since,
                    Delivery.outcome.in_(("sending", "delivered", "failed")),
                )
            )
            planned.append(
                PlannedChannel(
                    id=channel.id,
                    kind=channel.kind,
                    url=channel.url,
                    rate_limited=not run.emergency and (used or 0) >= channel.rate_limit,
                )
            )
    token = ack_links.sign(
        recipient_id=recipient.id,
        nonce=recipient.ack_nonce,
        expires=now + timedelta(seconds=ack_links.ACK_TTL_S),
    )
    return DeliveryPlan(
        run_id=run.id,
        recipient_id=recipient.id,
        contact_id=recipient.contact_id,
        tier=recipient.tier,
        drill=run.drill,
        emergency=run.emergency,
        active=contact is not None and contact.active,
        quiet=contact is not None and not run.emergency and in_quiet_hours(contact, now),
        title=f"[DRILL] {run.title}" if run.drill else run.title,
        body=run.body,
        ack_token=token,
        channels=tuple(planned),
    )


def _delivery_event(
    session: Session,
    event_type: Any,
    plan: DeliveryPlan,
    *,
    outcome: str,
    channel: PlannedChannel | None,
    now: datetime,
    detail: str = "",
) -> None:
    run = session.get(Run, plan.run_id)
    context = _run_context(run) if run is not None else Context(actor="notify")
    stage(
        session,
        make_event(
            event_type,
            NotifyDeliveryPayload(
                run_id=plan.run_id,
                recipient_id=plan.recipient_id,
                contact_id=plan.contact_id,
                channel_id=channel.id if channel else None,
                channel_kind=channel.kind if channel else None,
                tier=plan.tier,
                outcome=outcome,
                detail=detail,
                drill=plan.drill,
            ),
            context=context,
            time=now,
            site=run.site_id if run is not None else None,
        ),
    )


def record_attempt(
    *, session: Session, plan: DeliveryPlan, channel: PlannedChannel, now: datetime
) -> int:
    """Record that a message is being handed to ``channel``; return the delivery id."""
    recipient = session.get(Recipient, plan.recipient_id)
    if recipient is not None and recipient.status == "pending":
        recipient.status = "sending"
    row = Delivery(
        recipient_id=plan.recipient_id,
        run_id=plan.run_id,
        channel_id=channel.id,
        channel_kind=channel.kind,
        outcome="sending",
        detail="",
        attempted_at=now,
    )
    session.add(row)
    session.flush()
    _delivery_event(session, EVENT_NOTIFY_SENT, plan, outcome="sending", channel=channel, now=now)
    return row.id


def record_result(
    *, session: Session, plan: DeliveryPlan, delivery_id: int, ok: bool, detail: str, now: datetime
) -> None:
    """Record what the channel answered; a delivered message marks the recipient notified."""
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise NotFound(f"no delivery {delivery_id}")
    row.outcome = "delivered" if ok else "failed"
    row.detail = detail[:2000]
    row.completed_at = now
    recipient = session.get(Recipient, plan.recipient_id)
    if ok and recipient is not None:
        if recipient.status in {"pending", "sending"}:
            recipient.status = "delivered"
        recipient.notified_at = recipient.notified_at or now
    channel = PlannedChannel(row.channel_id or 0, row.channel_kind or "", "", False)
    _delivery_event(
        session,
        EVENT_NOTIFY_DELIVERY,
        plan,
        outcome=row.outcome,
        channel=channel,
        now=now,
        detail=row.detail,
    )


def record_skip(
    *,
    session: Session,
    plan: DeliveryPlan,
    channel: PlannedChannel | None,
    outcome: str,
    now: datetime,
    detail: str = "",
) -> None:
    """Record a message not handed to a channel: drill, quiet hours, rate limit, unreachable.

    ``drill`` counts as reached (the message would have gone out over ``channel``);
    ``quiet_hours`` and ``unreachable`` end the recipient.
    """
    session.add(
        Delivery(
            recipient_id=plan.recipient_id,
            run_id=plan.run_id,
            channel_id=channel.id if channel else None,
            channel_kind=channel.kind if channel else None,
            outcome=outcome,
            detail=detail,
            attempted_at=now,
            completed_at=now,
        )
    )
    recipient = session.get(Recipient, plan.recipient_id)
    if recipient is not None and recipient.status in {"pending", "sending"}:
        if outcome == "drill":
            recipient.status = "drill"
            recipient.notified_at = now
        elif outcome in FINAL_RECIPIENT_STATES:
            recipient.status = outcome
    session.flush()
    if outcome == "drill":
        _delivery_event(session, EVENT_NOTIFY_SENT, plan, outcome="drill", channel=channel, now=now)
    _delivery_event(
        session,
        EVENT_NOTIFY_DELIVERY,
        plan,
        outcome=outcome,
        channel=channel,
        now=now,
        detail=detail,
    )


def tier_unreachable(*, session: Session, run_id: str, tier: int) -> bool:
    """Return True when nobody in ``tier`` can be reached any more (all unreachable or quiet)."""
    states = set(
        session.scalars(
            select(Recipient.status).where(Recipient.run_id == run_id, Recipient.tier == tier)
        )
    )
    return bool(states) and states <= FINAL_RECIPIENT_STATES


# --- escalation -------------------------------------------------------------------------------


def due_escalations(*, session: Session, now: datetime) -> list[tuple[str, int]]:
    """Return (run id, tier) of active, unacknowledged runs whose tier timed out."""
    rows = session.execute(
        select(Run.id, Run.current_tier).where(
            Run.status == "active", Run.tier_deadline.is_not(None), Run.tier_deadline <= now
        )
    ).all()
    return [(str(r[0]), int(r[1])) for r in rows]


def escalate(
    *, session: Session, run_id: str, from_tier: int, reason: str, now: datetime
) -> list[Recipient]:
    """Move an active run from ``from_tier`` to the next tier; return the new recipients.

    A compare-and-set on the run's tier makes concurrent escalations of the same tier
    (a timeout and an all-unreachable tier at once) happen exactly once. With no tier
    left the run ends as ``exhausted``.
    """
    run = get_run(session=session, run_id=run_id)
    next_tier = from_tier + 1
    last = next_tier >= run.tier_count
    moved = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == "active", Run.current_tier == from_tier)
        .values(
            current_tier=from_tier if last else next_tier,
            status="exhausted" if last else "active",
            tier_deadline=None,
            finished_at=now if last else None,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0) != 1:
        return []
    session.refresh(run)
    context = _run_context(run)
    stage(
        session,
        make_event(
            EVENT_NOTIFY_ESCALATED,
            NotifyEscalationPayload(
                run_id=run.id,
                from_tier=from_tier,
                to_tier=None if last else next_tier,
                reason=reason,
                drill=run.drill,
            ),
            context=context,
            time=now,
            site=run.site_id,
        ),
    )
    if last:
        _run_event(
            session,
            run,
            "exhausted",
            tier=from_tier,
            context=context,
            now=now,
            detail="no tier acknowledged",
        )
        return []
    return _open_tier(session, run, None, next_tier, now=now)


# --- acknowledgement --------------------------------------------------------------------------


def acknowledge(
    *,
    session: Session,
    recipient_id: int,
    method: str,
    actor: str,
    context: Context,
    now: datetime,
    run_id: str | None = None,
) -> Recipient:
    """Record a recipient's acknowledgement (once); the first one stops the escalation."""
    recipient = session.get(Recipient, recipient_id)
    if recipient is None or (run_id is not None and recipient.run_id != run_id):
        raise NotFound(f"no recipient {recipient_id}")
    run = recipient.run
    if run.status == "cancelled":
        raise Conflict("this call tree was cancelled")
    done = session.execute(
        update(Recipient)
        .where(Recipient.id == recipient_id, Recipient.acknowledged_at.is_(None))
        .values(
            acknowledged_at=now, ack_method=method, acknowledged_by=actor, status="acknowledged"
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        raise Conflict("this message was already acknowledged")
    session.refresh(recipient)
    stage(
        session,
        make_event(
            EVENT_NOTIFY_ACK,
            NotifyAckPayload(
                run_id=run.id,
                recipient_id=recipient.id,
                contact_id=recipient.contact_id,
                tier=recipient.tier,
                method=method,
                drill=run.drill,
            ),
            context=context,
            time=now,
            site=run.site_id,
        ),
    )
    first = session.execute(
        update(Run)
        .where(Run.id == run.id, Run.acknowledged_at.is_(None))
        .values(
            acknowledged_at=now,
            tier_deadline=None,
            status="acknowledged",
            finished_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(first, "rowcount", 0) == 1:
        session.refresh(run)
        _run_event(
            session,
            run,
            "acknowledged",
            tier=recipient.tier,
            context=context,
            now=now,
            detail=f"acknowledged by notify_contact:{recipient.contact_id} ({method})",
        )
    return recipient


def acknowledge_link(*, session: Session, token: str, now: datetime) -> Recipient:
    """Acknowledge through a signed one-time link; a reused, altered or expired one is refused."""
    claim = ack_links.verify(token, now=now)
    recipient = session.get(Recipient, claim.recipient_id)
    if recipient is None or recipient.ack_nonce != claim.nonce:
        raise Forbidden("this acknowledgement link is not valid")
    return acknowledge(
        session=session,
        recipient_id=recipient.id,
        method="link",
        actor=f"notify_contact:{recipient.contact_id}",
        context=Context(actor=f"notify_contact:{recipient.contact_id}", parent_id=None),
        now=now,
    )


def peek_link(*, session: Session, token: str, now: datetime) -> Recipient:
    """Return the recipient a valid link names, without acknowledging."""
    claim = ack_links.verify(token, now=now)
    recipient = session.get(Recipient, claim.recipient_id)
    if recipient is None or recipient.ack_nonce != claim.nonce:
        raise Forbidden("this acknowledgement link is not valid")
    return recipient


def cancel_run(*, session: Session, run_id: str, context: Context, now: datetime) -> Run:
    """Stop an active run: no more messages, no escalation."""
    run = get_run(session=session, run_id=run_id)
    if run.status not in {"active", "acknowledged"}:
        raise Conflict(f"the run is already {run.status}")
    run.status = "cancelled"
    run.tier_deadline = None
    run.finished_at = now
    session.flush()
    _run_event(session, run, "cancelled", tier=run.current_tier, context=context, now=now)
    return run
