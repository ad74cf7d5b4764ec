"""Blind and dual counts, the count-room badge check, and the variance escalation ladder.

The book is fixed when a count starts and is never shown to a counter before they
submit; in a dual count the second counter must be a different person and does not see
the first figure. Two figures that disagree start a new round. Each counter must have
badged into the count room (a granted access decision in the ledger) or the count is
flagged. A variance over the site's threshold goes to the bookkeeper (1 h), then a
manager (24 h), then becomes an incident with the count table's clip for the count.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.cash import alerts, exceptions, movements, tasks, tills
from bastion.cash.models import (
    CashContainer,
    CashCount,
    CountSubmission,
    PosTransaction,
    TillSession,
    VarianceReview,
)
from bastion.cash.movements import dollars
from bastion.cash.settings import CashSettings, CountKind, variance_threshold
from bastion.core.context import Context, new_id
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.core.events import (
    EVENT_CASH_COUNT,
    EVENT_CASH_REVIEW,
    CashCountPayload,
    CashReviewPayload,
    make_event,
)
from bastion.core.ports import ClipSource
from bastion.people.models import Person
from bastion.site.schemas import Site
from bastion.store.ledger import LedgerRow, stage

DENOMINATIONS = (10_000, 5_000, 2_000, 1_000, 500, 200, 100, 50, 25, 10, 5, 1)
"""US notes and coins in cents; a breakdown must use these and add up to the amount."""
LEVELS = ("bookkeeper", "manager", "incident")
VARIANCE_OUTCOMES = ("explained", "counting_error", "theft")


@dataclass(frozen=True)
class Submitted:
    """What a counter learns after submitting: nothing of the book until the count is done."""

    count: CashCount
    status: str
    message: str


def _event(
    session: Session,
    count: CashCount,
    action: str,
    context: Context,
    now: datetime,
    **extra: object,
) -> None:
    stage(
        session,
        make_event(
            EVENT_CASH_COUNT,
            CashCountPayload(
                count_id=count.id,
                device_id=count.container_id,
                kind=count.kind,
                action=action,
                **extra,
            ),
            context=context,
            time=now,
            site=count.site_id,
        ),
    )


def open_count(*, session: Session, container_id: str) -> CashCount | None:
    """Return the container's count in progress, if any."""
    return session.execute(
        select(CashCount).where(CashCount.container_id == container_id, CashCount.status == "open")
    ).scalar_one_or_none()


def counting(*, session: Session, site_id: str) -> set[str]:
    """Return the ids of the site's containers being counted (their balance is hidden)."""
    return set(
        session.execute(
            select(CashCount.container_id).where(
                CashCount.site_id == site_id, CashCount.status == "open"
            )
        ).scalars()
    )


def start(
    *,
    session: Session,
    container: CashContainer,
    kind: CountKind,
    settings: CashSettings,
    context: Context,
    now: datetime,
    session_id: str | None = None,
    playbook_run_id: str | None = None,
    playbook_step_id: str | None = None,
    dual: bool | None = None,
) -> CashCount:
    """Start a blind count of a container; the book is fixed now and kept from counters."""
    if kind not in ("opening", "closing", "spot", "deposit"):
        raise InvalidInput("a count is an opening, closing, spot or deposit count")
    if container.status == "retired":
        raise Conflict(f"{container.name} is retired")
    if open_count(session=session, container_id=container.id) is not None:
        raise Conflict(f"{container.name} is already being counted")
    count = CashCount(
        id=new_id(),
        site_id=container.site_id,
        container_id=container.id,
        kind=kind,
        status="open",
        dual=kind in settings.dual_counts if dual is None else dual,
        round=1,
        book_cents=movements.balance(session=session, container_id=container.id),
        started_at=now,
        started_by=context.actor,
        flags=[],
        session_id=session_id,
        playbook_run_id=playbook_run_id,
        playbook_step_id=playbook_step_id,
    )
    session.add(count)
    _event(session, count, "started", context, now)
    return count


def get_count(*, session: Session, count_id: str) -> CashCount:
    """Return a count or raise NotFound."""
    row = session.get(CashCount, count_id)
    if row is None:
        raise NotFound(f"no cash count {count_id!r}")
    return row


def list_counts(
    *, session: Session, site_id: str, open_only: bool = False, limit: int = 100
) -> list[CashCount]:
    """Return a site's counts, newest first (open ones only when asked)."""
    stmt = select(CashCount).where(CashCount.site_id == site_id)
    if open_only:
        stmt = stmt.where(CashCount.status == "open")
    stmt = stmt.order_by(CashCount.started_at.desc(), CashCount.id.desc()).limit(limit)
    return list(session.execute(stmt).scalars())


def submissions(*, session: Session, count: CashCount) -> list[CountSubmission]:
    """Return every submission of a count, in order."""
    return list(
        session.execute(
            select(CountSubmission)
            .where(CountSubmission.count_id == count.id)
            .order_by(CountSubmission.id)
        ).scalars()
    )


def check_denominations(amount_cents: int, denominations: Mapping[str, int]) -> dict[str, int]:
    """Return the breakdown if its notes and coins add up to the amount."""
    clean: dict[str, int] = {}
    total = 0
    for key, number in denominations.items():
        try:
            value = int(key)
        except ValueError:
            raise InvalidInput(f"{key!r} is not a note or coin value in cents") from None
        if value not in DENOMINATIONS:
            raise InvalidInput(f"{dollars(value)} is not a US note or coin")
        if number < 0:
            raise InvalidInput("a number of notes or coins cannot be negative")
        if number:
            clean[str(value)] = number
            total += value * number
    if clean and total != amount_cents:
        raise InvalidInput(
            f"the notes and coins add up to {dollars(total)}, not {dollars(amount_cents)}"
        )
    return clean


def person_of_user(session: Session, user_id: int) -> str | None:
    """Return the cardholder linked to an operator account, if any."""
    return session.execute(
        select(Person.id).where(Person.user_id == user_id).limit(1)
    ).scalar_one_or_none()


def badged_into(
    session: Session,
    *,
    site: Site | None,
    person_id: str | None,
    zone_id: str | None,
    since: datetime,
    until: datetime,
) -> bool:
    """Return True when the person was granted a door into the zone within the window."""
    if person_id is None or zone_id is None or site is None:
        return False
    doors = {d.id for d in site.doors if d.to_zone == zone_id}
    if not doors:
        return False
    rows = session.execute(
        select(LedgerRow.payload).where(
            LedgerRow.type == "access.decision",
            LedgerRow.subject == person_id,
            LedgerRow.time >= since,
            LedgerRow.time <= until,
            LedgerRow.device.in_(sorted(doors)),
        )
    ).scalars()
    return any(json.loads(p).get("granted") is True for p in rows)


def submit(
    *,
    session: Session,
    site: Site | None,
    count: CashCount,
    user_id: int,
    amount_cents: int,
    settings: CashSettings,
    context: Context,
    now: datetime,
    denominations: Mapping[str, int] | None = None,
    clips: ClipSource | None = None,
) -> Submitted:
    """Record one counter's blind figure; complete the count when enough agree."""
    if count.status != "open":
        raise Conflict(f"this count is {count.status}")
    if amount_cents < 0 or amount_cents > movements.MAX_MOVEMENT_CENTS:
        raise InvalidInput("the counted amount is not plausible; count again")
    breakdown = check_denominations(amount_cents, denominations or {})
    this_round = [s for s in submissions(session=session, count=count) if s.round == count.round]
    if any(s.user_id == user_id for s in this_round):
        raise Conflict("you have already counted this round; a second, different person must count")
    person = person_of_user(session, user_id)
    window = timedelta(minutes=settings.badge_window_minutes)
    badged = badged_into(
        session,
        site=site,
        person_id=person,
        zone_id=settings.count_zone,
        since=now - window,
        until=now,
    )
    session.add(
        CountSubmission(
            count_id=count.id,
            round=count.round,
            user_id=user_id,
            person_id=person,
            amount_cents=amount_cents,
            denominations=breakdown,
            badged=badged,
            submitted_at=now,
        )
    )
    session.flush()
    _event(session, count, "submitted", context, now, counter=context.actor)
    figures = [s.amount_cents for s in this_round] + [amount_cents]
    needed = 2 if count.dual else 1
    if len(figures) < needed:
        return Submitted(count, "waiting", "Recorded. A second, different person now counts blind.")
    if len(set(figures)) > 1:
        count.round += 1
        _event(session, count, "mismatch", context, now)
        return Submitted(
            count,
            "mismatch",
            "The two counts do not agree. Both counters count again, blind, from the start.",
        )
    _complete(session, site, count, amount_cents, settings, context, now, clips)
    return Submitted(count, "completed", "Count complete.")


def _daily_gross(session: Session, count: CashCount, site: Site | None) -> int:
    """Return the register's sales today (site time), for the 0.5 % variance tier."""
    if site is None:
        return 0
    zone = ZoneInfo(site.site.timezone)
    midnight = count.started_at.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    value = session.execute(
        select(func.coalesce(func.sum(PosTransaction.total_cents), 0)).where(
            PosTransaction.register_id == count.container_id,
            PosTransaction.kind_code == 1,
            PosTransaction.at_ms >= int(midnight.timestamp() * 1000),
            PosTransaction.at_ms < int(count.started_at.timestamp() * 1000),
        )
    ).scalar_one()
    return int(value)


def _flags(session: Session, count: CashCount, settings: CashSettings) -> list[str]:
    rows = [s for s in submissions(session=session, count=count) if s.round == count.round]
    flags = []
    # Opening counts happen at the register; the others belong in the count room.
    if settings.count_zone is not None and count.kind != "opening":
        for row in rows:
            if not row.badged:
                flags.append(f"not_badged:user:{row.user_id}")
    return flags


def _complete(
    session: Session,
    site: Site | None,
    count: CashCount,
    counted: int,
    settings: CashSettings,
    context: Context,
    now: datetime,
    clips: ClipSource | None,
) -> None:
    count.status, count.completed_at, count.counted_cents = "completed", now, counted
    count.variance_cents = counted - count.book_cents
    count.threshold_cents = variance_threshold(settings, _daily_gross(session, count, site))
    count.flags = _flags(session, count, settings)
    _event(
        session,
        count,
        "completed",
        context,
        now,
        counted_cents=counted,
        book_cents=count.book_cents,
        variance_cents=count.variance_cents,
        flags=tuple(count.flags),
    )
    if abs(count.variance_cents) > count.threshold_cents:
        _open_review(session, site, count, settings, context, now, clips)
    if count.kind == "closing" and count.session_id:
        tills.finish_close(session=session, count=count, context=context, now=now)
        _trend(session, site, count, settings, context, now, clips)
    if count.playbook_run_id is not None:
        from bastion.cash import playbook

        playbook.count_done(
            session=session, site=site, count=count, settings=settings, context=context, now=now
        )


def count_clip(
    site: Site | None,
    count: CashCount,
    settings: CashSettings,
    clips: ClipSource | None,
) -> alerts.Clip | None:
    """Return the count table's video for the whole count (start to finish)."""
    camera = settings.count_camera or alerts.camera_for_zone(site, settings.count_zone)
    end = count.completed_at or count.started_at
    start, _ = alerts.around(count.started_at, settings.clip_before_seconds, 0)
    _, end = alerts.around(end, 0, settings.clip_after_seconds)
    return alerts.clip(clips, camera, start, end)


def _open_review(
    session: Session,
    site: Site | None,
    count: CashCount,
    settings: CashSettings,
    context: Context,
    now: datetime,
    clips: ClipSource | None,
) -> VarianceReview:
    container = movements.get_container(session=session, container_id=count.container_id)
    video = count_clip(site, count, settings, clips)
    review = VarianceReview(
        id=new_id(),
        site_id=count.site_id,
        count_id=count.id,
        container_id=count.container_id,
        variance_cents=count.variance_cents or 0,
        threshold_cents=count.threshold_cents or 0,
        level="bookkeeper",
        status="open",
        due_at=now + timedelta(hours=settings.bookkeeper_review_hours),
        opened_at=now,
        camera_id=video.camera_id if video else None,
        clip_url=video.url if video else None,
        clip_from=video.start if video else None,
        clip_to=video.end if video else None,
    )
    session.add(review)
    _review_event(session, review, "raised", context, now)
    alerts.notify(
        session=session,
        call_tree=settings.bookkeeper_call_tree,
        message=(
            f"Count variance of {dollars(review.variance_cents)} on {container.name} "
            f"(threshold {dollars(review.threshold_cents)}): review it within "
            f"{settings.bookkeeper_review_hours:g} h."
        ),
        site_id=count.site_id,
        context=context,
        now=now,
    )
    return review


def _review_event(
    session: Session,
    review: VarianceReview,
    action: str,
    context: Context,
    now: datetime,
    outcome: str = "",
) -> None:
    stage(
        session,
        make_event(
            EVENT_CASH_REVIEW,
            CashReviewPayload(
                review_id=review.id,
                kind="variance",
                action=action,
                rule=review.level,
                outcome=outcome,
            ),
            context=context,
            time=now,
            site=review.site_id,
        ),
    )


def _trend(
    session: Session,
    site: Site | None,
    count: CashCount,
    settings: CashSettings,
    context: Context,
    now: datetime,
    clips: ClipSource | None,
) -> None:
    """Raise a review item when a cashier keeps closing short beyond the threshold."""
    till = session.get(TillSession, count.session_id) if count.session_id else None
    if till is None or site is None:
        return
    recent = list(
        session.execute(
            select(CashCount)
            .join(TillSession, TillSession.id == CashCount.session_id)
            .where(
                TillSession.person_id == till.person_id,
                CashCount.kind == "closing",
                CashCount.status == "completed",
            )
            .order_by(CashCount.completed_at.desc())
            .limit(settings.trend_closes)
        ).scalars()
    )
    shorts = [c for c in recent if (c.variance_cents or 0) < -(c.threshold_cents or 0)]
    if len(shorts) < settings.trend_short_count:
        return
    register = movements.get_container(session=session, container_id=count.container_id)
    total = sum(c.variance_cents or 0 for c in shorts)
    exceptions.store_items(
        session=session,
        site=site,
        items=[
            {
                "rule": "over_short_trend",
                "pos_id": f"trend:{till.person_id}:{count.id}",
                "register_id": register.id,
                "terminal": register.terminal,
                "cashier": None,
                "person_id": till.person_id,
                "at": count.completed_at or now,
                "amount_cents": abs(total),
                "summary": (
                    f"{len(shorts)} of the last {len(recent)} closings short beyond the "
                    f"threshold, {dollars(total)} in all"
                ),
            }
        ],
        settings=settings,
        clips=clips,
        now=now,
    )


# --- the escalation ladder -------------------------------------------------------------------


def get_review(*, session: Session, review_id: str) -> VarianceReview:
    """Return a variance review or raise NotFound."""
    row = session.get(VarianceReview, review_id)
    if row is None:
        raise NotFound(f"no variance review {review_id!r}")
    return row


def list_reviews(
    *, session: Session, site_id: str, open_only: bool = True, limit: int = 100
) -> list[VarianceReview]:
    """Return a site's variance reviews, most urgent first."""
    stmt = select(VarianceReview).where(VarianceReview.site_id == site_id)
    if open_only:
        stmt = stmt.where(VarianceReview.status == "open")
    rows = list(session.execute(stmt.order_by(VarianceReview.opened_at.desc()).limit(limit)))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted((r[0] for r in rows), key=lambda r: (r.status != "open", r.due_at or far))


def escalate(
    *,
    session: Session,
    site: Site | None,
    review: VarianceReview,
    settings: CashSettings,
    context: Context,
    now: datetime,
) -> VarianceReview:
    """Move a review one level up: to a manager, then to an incident with the count clip."""
    if review.status != "open":
        raise Conflict("this review is closed")
    if review.level == "incident":
        raise Conflict("this variance is already an incident")
    container = movements.get_container(session=session, container_id=review.container_id)
    review.escalated_at = now
    if review.level == "bookkeeper":
        review.level = "manager"
        review.due_at = now + timedelta(hours=settings.manager_review_hours)
        alerts.notify(
            session=session,
            call_tree=settings.manager_call_tree,
            message=(
                f"Unresolved count variance of {dollars(review.variance_cents)} on "
                f"{container.name}: review it within {settings.manager_review_hours:g} h."
            ),
            site_id=review.site_id,
            context=context,
            now=now,
        )
    else:
        review.level, review.due_at = "incident", None
        video = (
            alerts.Clip(review.camera_id, review.clip_from, review.clip_to, review.clip_url)
            if review.camera_id and review.clip_from and review.clip_to
            else None
        )
        review.alarm_id = alerts.raise_alarm(
            session=session,
            site=site,
            site_id=review.site_id,
            alarm_type="cash_discrepancy",
            message=(
                f"Unexplained count variance of {dollars(review.variance_cents)} on "
                f"{container.name}; the count table's video is attached"
            ),
            context=context,
            now=now,
            zone_id=settings.count_zone,
            device_id=review.camera_id,
            video=video,
        )
    _review_event(session, review, "escalated", context, now)
    return review


def escalate_due(
    *,
    session: Session,
    site: Site | None,
    site_id: str,
    settings: CashSettings,
    context: Context,
    now: datetime,
) -> int:
    """Escalate every open review of a site whose deadline has passed; return how many."""
    due = list(
        session.execute(
            select(VarianceReview).where(
                VarianceReview.site_id == site_id,
                VarianceReview.status == "open",
                VarianceReview.due_at.is_not(None),
                VarianceReview.due_at <= now,
            )
        ).scalars()
    )
    for review in due:
        escalate(
            session=session, site=site, review=review, settings=settings, context=context, now=now
        )
    return len(due)


def close_review(
    *,
    session: Session,
    site: Site | None,
    review: VarianceReview,
    outcome: str,
    note: str,
    settings: CashSettings,
    context: Context,
    now: datetime,
) -> VarianceReview:
    """Close a review as explained, a counting error, or theft (which opens the notice)."""
    if outcome not in VARIANCE_OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(VARIANCE_OUTCOMES)}")
    if review.status != "open":
        raise Conflict("this review is already closed")
    if not note.strip():
        raise InvalidInput("say what explains the variance (a note is needed)")
    review.status, review.outcome, review.note = "closed", outcome, note.strip()
    review.closed_at, review.closed_by, review.due_at = now, context.actor, None
    _review_event(session, review, "closed", context, now, outcome=outcome)
    if outcome == "theft":
        container = movements.get_container(session=session, container_id=review.container_id)
        tasks.open_regulator_notice(
            session=session,
            site=site,
            site_id=review.site_id,
            settings=settings,
            source=f"variance:{review.id}",
            what=f"{dollars(-review.variance_cents)} missing from {container.name}",
            discovered_at=now,
            context=context,
            now=now,
        )
    return review
