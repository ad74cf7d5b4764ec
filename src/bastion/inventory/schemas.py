"""Request and response bodies of the inventory API (quantities as decimal text)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid")


class LocationCreate(Body):
    """A new location mapped to a zone."""

    name: str = Field(min_length=1, max_length=120, description="Name people know it by.")
    zone_id: str | None = Field(default=None, description="The site zone it lies in.")
    kind: str = Field(default="storage", description="storage, vault, grow, drying, sales, …")
    is_quarantine: bool = False


class LocationRead(BaseModel):
    """A location with its zone's name."""

    id: str
    name: str
    zone_id: str | None
    zone_name: str | None
    kind: str
    is_quarantine: bool


class ItemCreate(Body):
    """A new product."""

    name: str = Field(min_length=1, max_length=160)
    unit: str = Field(description="g, mg, kg, lb, oz, ml, l or each.")
    category: str = ""
    unit_weight_g: Decimal | None = None
    strain: str | None = None
    unit_value_cents: int = Field(default=0, ge=0)


class ItemRead(BaseModel):
    """A product."""

    id: str
    name: str
    unit: str
    category: str
    strain: str | None
    unit_value_cents: int


class PackageCreate(Body):
    """A new package under a new tag."""

    tag: str = Field(description="The state tag (24 letters and digits).")
    item_id: str
    quantity: Decimal = Field(gt=0)
    unit: str
    location_id: str | None = None


class PackageRead(BaseModel):
    """A package with its item and place named."""

    id: str
    tag: str
    item: str
    location: str | None
    zone_id: str | None
    quantity: str
    unit: str
    status: str
    on_hold: bool
    source_tags: list[str]


class MovementRead(BaseModel):
    """One movement of the append-only log."""

    id: str
    kind: str
    tag: str
    delta: str
    unit: str
    quantity_after: str
    from_location: str | None
    to_location: str | None
    reason: str
    at: datetime
    actor: str
    status: str
    flags: list[str]
    clip: dict[str, Any] | None


class PackageDetail(PackageRead):
    """A package and its whole history."""

    history: list[MovementRead]


class MoveBody(Body):
    """Where a package goes."""

    location_id: str


class AdjustBody(Body):
    """A signed adjustment with its reason."""

    quantity: Decimal = Field(description="Signed change, e.g. -2.5.")
    unit: str
    reason: str
    note: str | None = Field(default=None, max_length=1000)


class DestroyBody(Body):
    """Destruction of product: how much, how, why."""

    quantity: Decimal = Field(gt=0)
    unit: str
    method: str
    note: str | None = Field(default=None, max_length=1000)


class StockRow(BaseModel):
    """Stock of one item at one location."""

    zone_id: str | None
    zone: str
    location: str
    item: str
    packages: int
    quantity: str
    unit: str


class CountCreate(Body):
    """Start today's blind count with its counters."""

    counters: list[int] = Field(min_length=1, description="User ids of the counters.")
    size: int | None = Field(default=None, ge=1, le=500)


class CountLineRead(BaseModel):
    """One tag to count (never the book quantity)."""

    line_id: int
    tag: str
    item: str
    location: str
    unit: str
    counted: bool


class CountRead(BaseModel):
    """A blind count as its counters see it."""

    id: str
    day: str
    status: str
    lines: list[CountLineRead]


class CountEntry(Body):
    """A counter's figure for one tag."""

    tag: str
    quantity: Decimal = Field(ge=0)


class FindingRead(BaseModel):
    """A reconciliation or security finding with its evidence."""

    id: str
    check: str
    check_label: str
    severity: str
    message: str
    threshold: str
    evidence: list[dict[str, Any]]
    status: str
    alarm_id: str | None
    notice_due_at: datetime | None
    created_at: datetime


class ReconcileRead(BaseModel):
    """What a reconciliation run found."""

    found: int
    new: int
    by_check: dict[str, int]


class ImportRead(BaseModel):
    """What became of an imported file."""

    import_id: str
    status: str
    accepted: int
    message: str
    rejected: list[dict[str, str]]
