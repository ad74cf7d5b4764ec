"""Per-site cash settings: practice numbers as defaults, every one changeable per site.

Sources (see shared reference "Cash handling in practice"): the $1,000 till cap, the
variance tiers ($5 / $10 / $25-or-0.5 %), the 1 h bookkeeper → 24 h manager ladder and
the ~$80,000 pickup trigger are published industry practice; the >$10,000 Form 8300
rule is federal. Values marked "design default" are ours. Only the values a site
changed are stored, so improving a default reaches every site that kept it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.orm import Session

from bastion.cash.models import CashSiteSettings
from bastion.core.context import Context
from bastion.core.errors import InvalidInput
from bastion.core.events import EVENT_CASH_CONFIG, CashConfigPayload, make_event
from bastion.site.schemas import Site
from bastion.store.ledger import stage

CountKind = Literal["opening", "closing", "spot", "deposit"]
_STATE = re.compile(r"\b([A-Z]{2})\s+\d{5}(?:-\d{4})?\b")


class CashSettings(BaseModel):
    """How one site handles cash: limits, counts, escalation, pickups and exception rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}$",
        title="State",
        description="Two-letter state whose rules apply; default: read from the site address.",
    )
    register_limit_cents: int = Field(
        default=100_000,
        gt=0,
        title="Register limit",
        description="Cash a till may hold before it must drop to the safe ($1,000 practice).",
    )
    over_limit_alarm_minutes: int = Field(
        default=10,
        ge=1,
        title="Over-limit alarm after",
        description="Minutes a till may stay over its limit before an alarm (design default).",
    )
    annual_sales_cents: int | None = Field(
        default=None,
        ge=0,
        title="Annual sales",
        description="The store's yearly sales; picks the variance tier ($5/$10/$25 or 0.5 %).",
    )
    variance_threshold_cents: int | None = Field(
        default=None,
        ge=0,
        title="Variance threshold",
        description="Fixed count variance that escalates; default: the tier for annual sales.",
    )
    dual_counts: tuple[CountKind, ...] = Field(
        default=("closing", "spot", "deposit"),
        title="Dual counts",
        description="Count kinds that need two different counters (two-person practice).",
    )
    count_zone: str | None = Field(
        default="cash-room",
        title="Count room",
        description="Zone counters must have badged into; a count without that is flagged.",
    )
    badge_window_minutes: int = Field(
        default=240,
        ge=1,
        title="Badge window",
        description="How long before a submission the count-room badge may be (design default).",
    )
    count_camera: str | None = Field(
        default=None,
        title="Count-table camera",
        description="Camera over the count table; default: a camera covering the count room.",
    )
    bookkeeper_review_hours: float = Field(
        default=1.0,
        gt=0,
        title="Bookkeeper review within",
        description="Hours the bookkeeper has to review a variance before it goes to a manager.",
    )
    manager_review_hours: float = Field(
        default=24.0,
        gt=0,
        title="Manager review within",
        description="Hours the manager has before the variance becomes an incident.",
    )
    bookkeeper_call_tree: str | None = Field(
        default="management",
        title="Bookkeeper call tree",
        description="Call tree told of a new variance.",
    )
    manager_call_tree: str | None = Field(
        default="management",
        title="Manager call tree",
        description="Call tree told of drops due and escalated variances.",
    )
    business_schedule: str | None = Field(
        default="business-hours",
        title="Business hours",
        description="Site schedule outside which a sale is an exception.",
    )
    pickup_schedule: str | None = Field(
        default="delivery-window",
        title="Pickup windows",
        description="Site schedule whose intervals pickups are planned inside.",
    )
    pickup_trigger_cents: int = Field(
        default=8_000_000,
        gt=0,
        title="Pickup trigger",
        description="Vault balance that brings the next pickup forward (~$80,000 practice).",
    )
    pickups_per_week: int = Field(
        default=3,
        ge=1,
        le=14,
        title="Pickups per week",
        description="At most this many pickups in one week (design default).",
    )
    pickup_no_repeat: int = Field(
        default=4,
        ge=0,
        title="No repeat within",
        description="A weekday and hour is not reused within this many pickups (design default).",
    )
    pickup_horizon_days: int = Field(
        default=14,
        ge=1,
        le=60,
        title="Planning horizon",
        description="How many days ahead the planner looks for slots.",
    )
    bank_confirmation_hours: int = Field(
        default=48,
        ge=1,
        title="Bank confirmation within",
        description="Hours after a pickup by which the bank must confirm the deposit.",
    )
    discount_alert_cents: int = Field(
        default=2_500,
        ge=0,
        title="Discount alert",
        description="A discount of at least this much is an exception (design default).",
    )
    discount_alert_percent: int = Field(
        default=25,
        ge=1,
        le=100,
        title="Discount alert (%)",
        description="A discount of at least this share of the ticket is an exception.",
    )
    drawer_match_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        title="Drawer match window",
        description="A drawer opening with no transaction this close on its terminal is flagged.",
    )
    clip_before_seconds: int = Field(
        default=30, ge=0, le=3600, title="Clip before", description="Seconds of video before."
    )
    clip_after_seconds: int = Field(
        default=60, ge=0, le=3600, title="Clip after", description="Seconds of video after."
    )
    form_8300_cents: int = Field(
        default=1_000_000,
        gt=0,
        title="Form 8300 threshold",
        description="Cash from one customer above this in 24 h opens a Form 8300 task (federal).",
    )
    trend_closes: int = Field(
        default=10,
        ge=2,
        title="Trend window",
        description="Closing counts looked at for a cashier's over/short trend.",
    )
    trend_short_count: int = Field(
        default=3,
        ge=1,
        title="Trend shorts",
        description="Short closings over the threshold, within the window, that make a trend.",
    )
    theft_notice_hours: int | None = Field(
        default=None,
        ge=1,
        title="Theft notice deadline",
        description="Hours to notify the regulator of a theft of money; default: the state's.",
    )

    @model_validator(mode="after")
    def _verify(self) -> CashSettings:
        verify_review_ladder(self)
        return self


def verify_review_ladder(settings: CashSettings) -> None:
    """Require the manager's window to be longer than the bookkeeper's."""
    if settings.manager_review_hours <= settings.bookkeeper_review_hours:
        raise ValueError("manager_review_hours must be longer than bookkeeper_review_hours")


THEFT_NOTICE: dict[str, tuple[int, str]] = {
    "CA": (24, "DCC and local law enforcement (4 CCR §15036)"),
    "OR": (24, "OLCC (OAR 845-025-1160(3): theft of money)"),
    "MA": (24, "local law enforcement and the CCC (935 CMR 500.110(9)(a))"),
    "MI": (24, "the CRA, the State Police and local law enforcement"),
    "NJ": (3, "the Commission, after telephoning law enforcement (N.J.A.C. 17:30-9.11)"),
    "OH": (24, "the regulator (OAC 3796:5-4-01)"),
}
"""Hours to notify the regulator of a theft, and whom; states not listed have no known
deadline (the site must set ``theft_notice_hours``)."""


def state_of(site: Site | None, settings: CashSettings) -> str | None:
    """Return the site's state: the setting, else the two letters before the ZIP code."""
    if settings.state:
        return settings.state
    if site is None:
        return None
    found = _STATE.search(site.site.address)
    return found.group(1) if found else None


def theft_notice(site: Site | None, settings: CashSettings) -> tuple[timedelta | None, str]:
    """Return the deadline for a theft-of-money notice and whom to tell."""
    state = state_of(site, settings)
    known = THEFT_NOTICE.get(state or "")
    hours = settings.theft_notice_hours or (known[0] if known else None)
    whom = known[1] if known else "the state regulator and law enforcement"
    return (timedelta(hours=hours) if hours else None), whom


def variance_threshold(settings: CashSettings, daily_gross_cents: int) -> int:
    """Return the variance (cents) above which a count escalates.

    Tiers: under $250k a year $5; up to $1M $10; above, $25 or 0.5 % of the day's gross,
    whichever is smaller (unknown sales count as the smallest tier).
    """
    if settings.variance_threshold_cents is not None:
        return settings.variance_threshold_cents
    annual = settings.annual_sales_cents
    if annual is None or annual < 25_000_000:
        return 500
    if annual <= 100_000_000:
        return 1_000
    if daily_gross_cents <= 0:
        return 2_500
    return min(2_500, max(1, daily_gross_cents // 200))


def defaults() -> CashSettings:
    """Return the defaults."""
    return CashSettings()


def load(*, session: Session, site_id: str) -> CashSettings:
    """Return the site's effective settings (stored changes over the defaults)."""
    row = session.get(CashSiteSettings, site_id)
    return CashSettings.model_validate(row.data) if row is not None else CashSettings()


def update(
    *,
    session: Session,
    site_id: str,
    changes: dict[str, Any],
    context: Context,
    now: datetime,
) -> CashSettings:
    """Apply ``changes`` (``None`` restores a default) and stage the configuration event."""
    row = session.get(CashSiteSettings, site_id)
    stored = dict(row.data) if row is not None else {}
    for key, value in changes.items():
        if key not in CashSettings.model_fields:
            raise InvalidInput(f"unknown cash setting {key!r}")
        if value is None and key not in ("state", "theft_notice_hours"):
            stored.pop(key, None)
        else:
            stored[key] = value
    try:
        settings = CashSettings.model_validate(stored)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"{where}: {first.get('msg', 'invalid')}") from None
    data = settings.model_dump(mode="json", exclude_defaults=True)
    if row is None:
        session.add(
            CashSiteSettings(site_id=site_id, data=data, updated_at=now, updated_by=context.actor)
        )
    else:
        row.data, row.updated_at, row.updated_by = data, now, context.actor
    stage(
        session,
        make_event(
            EVENT_CASH_CONFIG,
            CashConfigPayload(
                target="settings",
                action="updated",
                detail={k: str(v) for k, v in sorted(changes.items())},
            ),
            context=context,
            time=now,
            site=site_id,
        ),
    )
    return settings
