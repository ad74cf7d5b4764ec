"""Blind cycle counts that cannot be gamed.

The sample is drawn when the count starts, from a secret random seed, weighted to
packages of high value and to locations where past counts found variances; nobody can
know in advance which packages will be counted. Counters see tags, items and places
only, never the book quantity, which is frozen at the start. The counters are listed
at the start; a witness (a different person) completes the count.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from bastion.core.events import EVENT_INVENTORY_COUNT, InventoryCountPayload, make_event
from bastion.inventory import units
from bastion.inventory.models import InvCount, InvCountLine, InvItem, InvLocation, InvPackage
from bastion.inventory.settings import DEFAULT, InventorySettings
from bastion.site.schemas import Site
from bastion.store.ledger import stage


@dataclass(frozen=True)
class BlindLine:
    """What a counter sees of one line: no book quantity."""

    line_id: int
    tag: str
    item: str
    location: str
    unit: str
    counted: bool


def _event(
    session: Session, count: InvCount, action: str, now: datetime, context: Context, **kw: int
) -> None:
    stage(
        session,
        make_event(
            EVENT_INVENTORY_COUNT,
            InventoryCountPayload(count_id=count.id, action=action, **kw),
            context=context,
            time=now,
            site=count.site_id,
        ),
    )


def weights(session: Session, site_id: str) -> list[tuple[str, str, str | None, int, float]]:
    """Return (package id, tag, location, quantity, weight) of every active package.

    The weight is the package's value (quantity × the item's unit value, at least 1)
    times one plus the number of past variances at its location.
    """
    past = dict(
        session.execute(
            select(InvCountLine.location_id, func.count())
            .join(InvCount, InvCount.id == InvCountLine.count_id)
            .where(
                InvCount.site_id == site_id,
                InvCountLine.counted_qty.is_not(None),
                InvCountLine.counted_qty != InvCountLine.system_qty,
            )
            .group_by(InvCountLine.location_id)
        ).all()
    )
    rows = session.execute(
        select(
            InvPackage.id,
            InvPackage.tag,
            InvPackage.location_id,
            InvPackage.quantity,
            InvItem.unit_value_cents,
        )
        .join(InvItem, InvItem.id == InvPackage.item_id)
        .where(
            InvPackage.site_id == site_id, InvPackage.status == "active", InvPackage.quantity > 0
        )
        .order_by(InvPackage.id)
    ).all()
    out = []
    for pid, tag, loc, qty, value in rows:
        worth = max(1.0, float(units.from_stored(qty)) * max(int(value), 1))
        out.append((pid, tag, loc, int(qty), worth * (1 + int(past.get(loc, 0)))))
    return out


def sample(
    candidates: list[tuple[str, str, str | None, int, float]], k: int, seed: str
) -> list[int]:
    """Return the indexes of ``k`` candidates drawn without replacement, by weight."""
    rng = random.Random(seed)
    # Efraimidis–Spirakis: the k largest u^(1/w) keys are a weighted sample without replacement.
    keyed = sorted(
        ((rng.random() ** (1.0 / c[4]), i) for i, c in enumerate(candidates)), reverse=True
    )
    return sorted(i for _, i in keyed[:k])


def start(
    *,
    session: Session,
    site: Site,
    counters: list[int],
    context: Context,
    now: datetime,
    settings: InventorySettings = DEFAULT,
    size: int | None = None,
) -> InvCount:
    """Start today's blind count: draw the sample now and freeze the book quantities."""
    if not counters:
        raise InvalidInput("counters: name at least one counter")
    sid = site.site.id
    day = now.astimezone(ZoneInfo(site.site.timezone)).date().isoformat()
    candidates = weights(session, sid)
    if not candidates:
        raise Conflict("there are no packages on hand to count")
    seed = secrets.token_hex(16)
    count = InvCount(
        id=new_id(),
        site_id=sid,
        day=day,
        status="open",
        counters=sorted(set(counters)),
        seed=seed,
        started_at=now,
        started_by=context.actor,
    )
    session.add(count)
    chosen = sample(candidates, size or settings.count_sample, seed)
    for i in chosen:
        pid, tag, loc, qty, _ = candidates[i]
        session.add(
            InvCountLine(
                count_id=count.id, package_id=pid, tag=tag, location_id=loc, system_qty=qty
            )
        )
    session.flush()
    _event(session, count, "started", now, context, lines=len(chosen))
    return count


def get_count(session: Session, site_id: str, count_id: str) -> InvCount:
    """Return a count of this site or raise NotFound."""
    row = session.get(InvCount, count_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"no count {count_id!r} at site {site_id}")
    return row


def lines(session: Session, count: InvCount) -> list[InvCountLine]:
    """Return a count's lines in tag order."""
    return list(
        session.execute(
            select(InvCountLine).where(InvCountLine.count_id == count.id).order_by(InvCountLine.tag)
        ).scalars()
    )


def blind(session: Session, count: InvCount, user_id: int | None) -> list[BlindLine]:
    """Return what a counter may see: tags, items and places (only the listed counters)."""
    if user_id is not None and user_id not in count.counters:
        raise Forbidden("only the counters named for this count see its list")
    rows = session.execute(
        select(InvCountLine, InvItem.name, InvLocation.name, InvPackage.unit)
        .join(InvPackage, InvPackage.id == InvCountLine.package_id)
        .join(InvItem, InvItem.id == InvPackage.item_id)
        .outerjoin(InvLocation, InvLocation.id == InvCountLine.location_id)
        .where(InvCountLine.count_id == count.id)
        .order_by(InvCountLine.tag)
    ).all()
    return [
        BlindLine(line.id, line.tag, item, place or "", unit, line.counted_qty is not None)
        for line, item, place, unit in rows
    ]


def enter(
    *,
    session: Session,
    count: InvCount,
    user_id: int,
    tag: str,
    counted: Decimal,
    context: Context,
    now: datetime,
) -> None:
    """Record a counter's figure for one tag of the sample (blind: nothing is shown back)."""
    if count.status != "open":
        raise Conflict(f"this count is {count.status}")
    if user_id not in count.counters:
        raise Forbidden("only the counters named for this count may enter figures")
    if counted < 0:
        raise InvalidInput(f"tag {tag}: a count cannot be negative")
    line = session.execute(
        select(InvCountLine).where(
            InvCountLine.count_id == count.id, InvCountLine.tag == tag.upper()
        )
    ).scalar_one_or_none()
    if line is None:
        raise InvalidInput(f"tag {tag}: not in this count's sample")
    line.counted_qty = units.to_stored(counted)
    line.counted_by, line.counted_at = user_id, now
    _event(session, count, "counted", now, context)


def complete(
    *, session: Session, count: InvCount, witness_user_id: int, context: Context, now: datetime
) -> int:
    """Close the count with a witness who did not count; return how many lines differ."""
    if count.status != "open":
        raise Conflict(f"this count is {count.status}")
    if witness_user_id in count.counters:
        raise Forbidden("the witness must be a different person from the counters")
    rows = lines(session, count)
    missing = [r.tag for r in rows if r.counted_qty is None]
    if missing:
        raise InvalidInput(f"count every tag first; not yet counted: {', '.join(missing[:5])}")
    count.status, count.completed_at, count.witness_user_id = "completed", now, witness_user_id
    differ = sum(1 for r in rows if r.counted_qty != r.system_qty)
    _event(session, count, "completed", now, context, lines=len(rows), variances=differ)
    return differ
