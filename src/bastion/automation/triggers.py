"""Trigger kinds: event (type + payload filter), schedule, and threshold with inertia.

``TRIGGERS`` maps each ``kind`` to its config model; :func:`compile_trigger` turns a
config into a :class:`CompiledTrigger` the engine indexes once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bastion.automation.references import Ref, RefKind
from bastion.automation.state import RuleEnv
from bastion.core.events import CATALOGUE, EVENT_SENSOR_READING, Event, SensorReadingPayload

Scalar = str | int | float | bool
INDEX_FIELDS = ("door_id", "device_id", "zone_id", "camera_id", "alarm_type")
"""Payload fields an equality filter is indexed on, so 1,000 rules cost one dict look-up."""
FILTER_REFERENCES: dict[str, RefKind] = {
    "door_id": "door",
    "zone_id": "zone",
    "device_id": "device",
    "camera_id": "camera",
}
"""Filter fields whose values name something in the site model."""

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TriggerConfig(BaseModel):
    """Base of trigger configs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(title="Kind", description="event, schedule or threshold.")

    def references(self) -> list[Ref]:
        """Return the site, doors, zones and devices the trigger names."""
        site = getattr(self, "site", None)
        return [Ref("site", site, "site")] if isinstance(site, str) else []


class EventTriggerConfig(TriggerConfig):
    """Fire on an event type whose payload matches every filter entry."""

    kind: Literal["event"] = Field(default="event", title="Kind", description="event")
    event_type: str = Field(title="Event type", description="Catalogue name, e.g. door.forced.")
    filter: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict,
        title="Filter",
        description="Payload field → value (or list of values) that must match.",
    )
    site: str | None = Field(default=None, title="Site", description="Only events of this site.")

    def references(self) -> list[Ref]:
        """Return the site and the filter values that name doors, zones and devices."""
        refs = super().references()
        for name, wanted in self.filter.items():
            kind = FILTER_REFERENCES.get(name)
            if kind is None:
                continue
            values = wanted if isinstance(wanted, list) else [wanted]
            refs += [
                Ref(kind, str(v), f"filter.{name}", site=self.site) for v in values if v is not None
            ]
        return refs

    @field_validator("event_type")
    @classmethod
    def verify_event_type(cls, value: str) -> str:
        """Reject event types the catalogue does not know."""
        if value not in CATALOGUE:
            known = ", ".join(sorted(CATALOGUE))
            raise ValueError(f"unknown event type {value!r} (known: {known})")
        return value

    @model_validator(mode="after")
    def verify_filter_fields(self) -> EventTriggerConfig:
        """Reject filters on fields the payload does not have."""
        fields = CATALOGUE[self.event_type].payload.model_fields
        for name in self.filter:
            if name not in fields:
                raise ValueError(
                    f"{self.event_type} payloads have no field {name!r} "
                    f"(fields: {', '.join(sorted(fields))})"
                )
        return self


class ScheduleTriggerConfig(TriggerConfig):
    """Fire at a local time on some weekdays, or every N seconds."""

    kind: Literal["schedule"] = Field(default="schedule", title="Kind", description="schedule")
    at: time | None = Field(
        default=None, title="At", description="HH:MM on the site's clock (its time zone)."
    )
    days: tuple[Weekday, ...] = Field(
        default=WEEKDAYS, title="Days", description="Weekdays on which 'at' applies."
    )
    every_s: float | None = Field(
        default=None, ge=1, title="Every", description="Period in seconds instead of 'at'."
    )
    site: str | None = Field(
        default=None,
        title="Site",
        description="Site whose time zone 'at' is read in (default: the only site; else UTC).",
    )

    @model_validator(mode="after")
    def verify_one_of(self) -> ScheduleTriggerConfig:
        """Require exactly one of 'at' and 'every_s'."""
        if (self.at is None) == (self.every_s is None):
            raise ValueError("a schedule needs exactly one of 'at' and 'every_s'")
        return self


class ThresholdTriggerConfig(TriggerConfig):
    """Fire once when a sensor reading stays beyond a bound for a while."""

    kind: Literal["threshold"] = Field(default="threshold", title="Kind", description="threshold")
    device_id: str = Field(title="Sensor", description="Sensor whose readings are watched.")
    quantity: str = Field(title="Quantity", description="e.g. vape_index, sound_db.")
    above: float | None = Field(
        default=None, title="Above", description="Bound (default: the site model's threshold)."
    )
    below: float | None = Field(default=None, title="Below", description="Lower bound.")
    for_s: float = Field(
        default=0.0, ge=0, title="For", description="Seconds the value must stay beyond it."
    )
    hysteresis: float = Field(
        default=0.0, ge=0, title="Hysteresis", description="Margin before the trigger re-arms."
    )
    site: str | None = Field(default=None, title="Site", description="Site of the sensor.")

    def references(self) -> list[Ref]:
        """Return the site and the sensor."""
        return [*super().references(), Ref("sensor", self.device_id, "device_id", site=self.site)]


TRIGGERS: dict[str, type[TriggerConfig]] = {
    "event": EventTriggerConfig,
    "schedule": ScheduleTriggerConfig,
    "threshold": ThresholdTriggerConfig,
}
"""Registered trigger kinds."""


Matcher = Callable[[Event[Any]], bool]


class ThresholdMachine:
    """Inertia state machine: ``idle`` → ``pending`` (beyond bound) → ``fired`` → re-arm.

    The value must stay beyond the bound for ``for_s`` seconds (measured on event time)
    before the trigger fires, fires once per excursion, and re-arms only once the value
    is back inside the bound by at least ``hysteresis``.
    """

    def __init__(
        self, *, above: float | None, below: float | None, for_s: float, hysteresis: float
    ) -> None:
        if above is None and below is None:
            raise ValueError("a threshold needs 'above' or 'below'")
        self.above, self.below = above, below
        self.for_s, self.hysteresis = for_s, hysteresis
        self.state = "idle"
        self.since: datetime | None = None

    def _beyond(self, value: float, margin: float = 0.0) -> bool:
        if self.above is not None and value > self.above - margin:
            return True
        return self.below is not None and value < self.below + margin

    def feed(self, value: float, at: datetime) -> bool:
        """Take one reading; return True exactly when the trigger fires."""
        if self.state == "fired":
            if not self._beyond(value, self.hysteresis):
                self.state, self.since = "idle", None
            return False
        if not self._beyond(value):
            self.state, self.since = "idle", None
            return False
        if self.state == "idle":
            self.state, self.since = "pending", at
        if self.since is not None and (at - self.since).total_seconds() >= self.for_s:
            self.state = "fired"
            return True
        return False


@dataclass
class CompiledTrigger:
    """A trigger ready for dispatch: event type, index keys and a matcher closure."""

    path: str
    config: TriggerConfig
    event_type: str | None
    index: tuple[str, Scalar] | None
    matches: Matcher
    schedule: ScheduleTriggerConfig | None = None
    next_due: datetime | None = None
    tz: ZoneInfo | None = None


def _filter_matcher(cfg: EventTriggerConfig) -> Matcher:
    checks: list[tuple[str, frozenset[Any]]] = [
        (name, frozenset(value if isinstance(value, list) else [value]))
        for name, value in cfg.filter.items()
    ]
    site = cfg.site
    if not checks and site is None:
        return lambda _event: True

    def matches(event: Event[Any]) -> bool:
        if site is not None and event.site != site:
            return False
        payload = event.payload
        return all(getattr(payload, name, None) in allowed for name, allowed in checks)

    return matches


def _threshold_matcher(cfg: ThresholdTriggerConfig, env: RuleEnv) -> Matcher:
    above, below = cfg.above, cfg.below
    if above is None and below is None:
        site = env.site_for(cfg.site)
        if site is not None:
            try:
                for threshold in site.device(cfg.device_id).thresholds:
                    if threshold.quantity == cfg.quantity:
                        above, below = threshold.above, threshold.below
            except KeyError:
                pass
    if above is None and below is None:
        raise ValueError(
            f"no bound for {cfg.device_id}/{cfg.quantity}: give 'above'/'below' "
            "or a threshold in the site model"
        )
    machine = ThresholdMachine(above=above, below=below, for_s=cfg.for_s, hysteresis=cfg.hysteresis)

    def matches(event: Event[Any]) -> bool:
        payload = event.payload
        if not isinstance(payload, SensorReadingPayload) or payload.quantity != cfg.quantity:
            return False
        if cfg.site is not None and event.site != cfg.site:
            return False
        return machine.feed(payload.value, event.time)

    matches.machine = machine  # type: ignore[attr-defined]
    return matches


def next_schedule_time(cfg: ScheduleTriggerConfig, after: datetime, tz: ZoneInfo) -> datetime:
    """Return the first due time strictly after ``after``."""
    if cfg.every_s is not None:
        return after + timedelta(seconds=cfg.every_s)
    assert cfg.at is not None
    local = after.astimezone(tz)
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        if WEEKDAYS[day.weekday()] not in cfg.days:
            continue
        candidate = datetime.combine(day, cfg.at, tzinfo=tz)
        if candidate > local:
            return candidate.astimezone(after.tzinfo)
    raise ValueError("schedule has no day")  # unreachable: days is never empty


def compile_trigger(path: str, cfg: TriggerConfig, env: RuleEnv) -> CompiledTrigger:
    """Compile one trigger config (once, at load time)."""
    if isinstance(cfg, EventTriggerConfig):
        index: tuple[str, Scalar] | None = None
        for name in INDEX_FIELDS:
            value = cfg.filter.get(name)
            if value is not None and not isinstance(value, list):
                index = (name, value)
                break
        return CompiledTrigger(path, cfg, cfg.event_type, index, _filter_matcher(cfg))
    if isinstance(cfg, ThresholdTriggerConfig):
        return CompiledTrigger(
            path,
            cfg,
            EVENT_SENSOR_READING.name,
            ("device_id", cfg.device_id),
            _threshold_matcher(cfg, env),
        )
    if isinstance(cfg, ScheduleTriggerConfig):
        site = env.site_for(cfg.site)
        tz = ZoneInfo(site.site.timezone) if site is not None else ZoneInfo("UTC")
        compiled = CompiledTrigger(path, cfg, None, None, lambda _e: False, schedule=cfg, tz=tz)
        compiled.next_due = next_schedule_time(cfg, env.clock.now(), tz)
        return compiled
    raise ValueError(f"unknown trigger kind {cfg.kind!r}")
