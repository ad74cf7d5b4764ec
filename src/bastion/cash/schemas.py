"""API shapes of the cash routes. Money is integer cents; people appear by name.

Count shapes never carry the book or another counter's figure while the count is
open; pickup shapes exist only on the pickup routes; code words, one-time codes
(except for planners) and guards' ID numbers are accepted but never returned.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Cents = int


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(…)"


# --- containers, tills, movements ------------------------------------------------------------


class ContainerCreate(_Strict):
    """A register, drop safe or vault."""

    kind: Literal["register", "drop_safe", "vault"]
    name: str = Field(min_length=1, max_length=120)
    zone_id: str | None = Field(default=None, max_length=63, description="Zone it stands in.")
    camera_id: str | None = Field(default=None, max_length=63, description="Camera that sees it.")
    terminal: str | None = Field(default=None, max_length=64, description="POS terminal id.")
    limit_cents: Cents | None = Field(default=None, gt=0, description="Register cash limit.")


class ContainerUpdate(_Strict):
    """Rename, move a register's camera or limit, or retire an empty container."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    camera_id: str | None = Field(default=None, max_length=63)
    limit_cents: Cents | None = Field(default=None, gt=0)
    retire: bool = False


class ContainerRead(BaseModel):
    """A container; ``balance_cents`` is None while it is being counted (blind counts)."""

    id: str
    kind: str
    name: str
    status: str
    zone_id: str | None
    zone: str | None
    camera_id: str | None
    camera: str | None
    terminal: str | None
    limit_cents: Cents | None
    balance_cents: Cents | None
    being_counted: bool
    over_limit_since: datetime | None
    cashier: str | None
    bag_number: str | None
    seal_number: str | None


class MovementRead(BaseModel):
    """One movement, with the containers and the cashier named."""

    id: str
    kind: str
    at: datetime
    amount_cents: Cents
    source: str
    target: str | None
    cashier: str | None
    actor: str
    reference: dict[str, str]


class TillOpen(_Strict):
    """Give a cashier a register with a float from the safe or the vault."""

    person_id: str = Field(min_length=1, max_length=26, description="The cashier.")
    float_cents: Cents = Field(gt=0)
    source_id: str = Field(min_length=1, max_length=26, description="Drop safe or vault.")


class TillOpened(BaseModel):
    """The new till session and the blind opening count to perform."""

    session_id: str
    count_id: str


class DropCreate(_Strict):
    """Cash dropped from a till into the drop safe."""

    amount_cents: Cents = Field(gt=0)
    safe_id: str | None = Field(default=None, max_length=26, description="Default: drop safe.")
    witness: str | None = Field(default=None, max_length=120)


class PayoutCreate(_Strict):
    """Cash paid out of a till."""

    amount_cents: Cents = Field(gt=0)
    reason: str = Field(min_length=1, max_length=120)


class TransferCreate(_Strict):
    """Counted cash moved between safes and the vault."""

    source_id: str = Field(min_length=1, max_length=26)
    target_id: str = Field(min_length=1, max_length=26)
    amount_cents: Cents = Field(gt=0)


class FundingCreate(_Strict):
    """Cash brought in (a change order from the bank) into a safe or the vault."""

    container_id: str = Field(min_length=1, max_length=26)
    amount_cents: Cents = Field(gt=0)
    reference: str = Field(default="", max_length=120)


class CashierCodeWrite(_Strict):
    """Which person a POS cashier code belongs to."""

    code: str = Field(min_length=1, max_length=64)
    person_id: str = Field(min_length=1, max_length=26)


class MyTill(BaseModel):
    """A cashier's own till: no balance (the closing count is blind), but a drop warning."""

    register_id: str
    register_name: str
    terminal: str | None
    opened_at: datetime
    status: str
    drop_needed: bool
    transactions_today: int
    open_count_id: str | None


# --- counts ----------------------------------------------------------------------------------


class CountCreate(_Strict):
    """Start a blind count."""

    container_id: str = Field(min_length=1, max_length=26)
    kind: Literal["opening", "closing", "spot", "deposit"] = "spot"


class CountSubmit(_Strict):
    """One counter's blind figure, optionally by note and coin (value in cents → number)."""

    amount_cents: Cents = Field(ge=0)
    denominations: dict[str, int] = Field(default_factory=dict)


class CountRead(BaseModel):
    """A count; book and variance appear only once it is complete."""

    id: str
    container_id: str
    container: str
    kind: str
    status: str
    dual: bool
    round: int
    started_at: datetime
    counted_by: list[str]
    waiting_for: str
    completed_at: datetime | None = None
    counted_cents: Cents | None = None
    book_cents: Cents | None = None
    variance_cents: Cents | None = None
    threshold_cents: Cents | None = None
    flags: list[str] = Field(default_factory=list)


class CountSubmitted(BaseModel):
    """What the counter learns: the state, and the result only if the count is complete."""

    status: Literal["waiting", "mismatch", "completed"]
    message: str
    count: CountRead


# --- reviews, exceptions, tasks --------------------------------------------------------------


class ExceptionRead(BaseModel):
    """A POS exception to review, with its clip (URL) or bookmark (camera and window)."""

    id: str
    rule: str
    rule_name: str
    pos_id: str
    register_name: str | None
    terminal: str | None
    cashier: str | None
    at: datetime
    amount_cents: Cents
    summary: str
    camera_id: str | None
    camera: str | None
    clip_url: str | None
    clip_from: datetime | None
    clip_to: datetime | None
    status: str
    reviewed_by: str | None
    reviewed_at: datetime | None


class ExceptionReview(_Strict):
    """The reviewer's conclusion."""

    outcome: Literal["explained", "theft", "training"]
    note: str = Field(default="", max_length=2000)


class ScanRequest(_Strict):
    """Judge stored transactions again over a window (new items only)."""

    since: datetime
    until: datetime


class ScanResult(BaseModel):
    """How many transactions each rule flagged, and how many items were new."""

    flagged: dict[str, int]
    created: int


class RateRead(BaseModel):
    """One cashier's exception rate over the period."""

    cashier: str
    name: str | None
    transactions: int
    exceptions: int
    rate: float
    stands_out: bool
    by_rule: dict[str, int]


class ReviewRead(BaseModel):
    """A count variance on its escalation ladder."""

    id: str
    count_id: str
    container: str
    variance_cents: Cents
    threshold_cents: Cents
    level: str
    status: str
    due_at: datetime | None
    outcome: str | None
    alarm_id: str | None
    camera_id: str | None
    camera: str | None
    clip_url: str | None
    clip_from: datetime | None
    clip_to: datetime | None
    opened_at: datetime


class ReviewAction(_Strict):
    """Escalate a variance now, or close it with an outcome and a note."""

    action: Literal["escalate", "close"]
    outcome: Literal["explained", "counting_error", "theft"] | None = None
    note: str = Field(default="", max_length=2000)


class TaskRead(BaseModel):
    """A compliance task with its deadline."""

    id: str
    kind: str
    title: str
    detail: str
    state: str | None
    due_at: datetime | None
    status: str
    created_at: datetime
    done_at: datetime | None


class RejectionRead(BaseModel):
    """A refused POS record (the raw text is only in the console, for reviewers)."""

    id: int
    at: datetime
    source: str
    line: str
    pos_id: str | None
    reason: str


class TransactionRead(BaseModel):
    """A stored POS transaction."""

    pos_id: str
    terminal: str
    cashier: str
    at: datetime
    kind: str
    total_cents: Cents
    cash_cents: Cents
    discount_cents: Cents
    original_id: str | None
    detail: str | None


class IngestRead(BaseModel):
    """What an ingest did (rejected records are kept for review)."""

    batch_id: str
    accepted: int
    duplicates: int
    rejected: int
    exceptions: int
    form_8300: int
    rejections: list[dict[str, str]] = Field(default_factory=list)


# --- deposits and pickups --------------------------------------------------------------------


class DepositCreate(_Strict):
    """Seal cash from the vault into a deposit bag."""

    amount_cents: Cents = Field(gt=0)
    bag_number: str = Field(min_length=1, max_length=64)
    seal_number: str = Field(min_length=1, max_length=64)


class BankConfirmationCreate(_Strict):
    """The bank's figure for one bag."""

    amount_cents: Cents = Field(ge=0)
    reference: str = Field(default="", max_length=120)


class CarrierCreate(_Strict):
    """An armored-car or courier company and its standing code word (never returned)."""

    company: str = Field(min_length=1, max_length=120)
    code_word: str = Field(min_length=6, max_length=120)


class CarrierRead(BaseModel):
    """A carrier company."""

    id: str
    company: str


class PickupCreate(_Strict):
    """Plan the next pickup (``urgent``: the earliest allowed slot)."""

    carrier_id: str = Field(min_length=1, max_length=26)
    urgent: bool = False


class PickupRead(BaseModel):
    """A pickup, for pickup planners only (time and one-time code included)."""

    id: str
    carrier: str
    scheduled_at: datetime
    slot: str
    urgent: bool
    status: str
    one_time_code: str | None
    verified_at: datetime | None
    completed_at: datetime | None
    total_cents: Cents | None
    bags: list[str]


class PickupVerify(_Strict):
    """What the guard at the door gives: company, name, code word or ID, one-time code."""

    company: str = Field(min_length=1, max_length=120)
    guard_name: str = Field(min_length=1, max_length=200)
    one_time_code: str = Field(min_length=1, max_length=32)
    code_word: str | None = Field(default=None, max_length=120)
    id_number: str | None = Field(default=None, max_length=64)


class HandOver(_Strict):
    """The bags handed to the verified carrier: bag number → seal number read at the door."""

    seals: dict[str, str] = Field(min_length=1)


class PickupCancel(_Strict):
    """Why a pickup is cancelled."""

    reason: str = Field(min_length=1, max_length=200)


class Refusal(BaseModel):
    """A refusal that was kept (and alarmed) rather than rolled back."""

    refused: bool = True
    reason: str
    alarm_id: str


# --- settings and report ---------------------------------------------------------------------


class SettingsWrite(_Strict):
    """Changed cash settings (null restores a default); see ``GET …/settings`` for fields."""

    changes: dict[str, Any]


class DayReport(BaseModel):
    """A day's reconciliation: sales cash, movements, counts, exceptions, by register."""

    site_id: str
    day: date
    registers: list[dict[str, Any]]
    totals: dict[str, int]
    counts: list[dict[str, Any]]
    exceptions_by_rule: dict[str, int]
    variance_by_employee: dict[str, int]
    deposits: list[dict[str, Any]]
