"""Condition kinds compiled into checker closures that trace their own result.

``CONDITIONS`` maps each ``condition`` name to its config model and its compiler.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bastion.automation.references import Ref, prefixed
from bastion.automation.state import RuleEnv, RunState
from bastion.core.errors import ConfigError

Checker = Callable[[RunState], bool]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConditionConfig(BaseModel):
    """Base of condition configs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    condition: str = Field(title="Condition", description="Registered condition name.")

    def references(self) -> list[Ref]:
        """Return the zones, doors and sensors the condition names."""
        return []


class ZoneArmedConfig(ConditionConfig):
    """True when a zone (default: the trigger's zone) is armed, or disarmed with armed=false."""

    condition: Literal["zone_armed"] = Field(title="Condition", description="zone_armed")
    zone: str = Field(
        default="trigger", title="Zone", description="Zone id, or 'trigger' for the event's zone."
    )
    armed: bool = Field(default=True, title="Armed", description="Expected arming state.")

    def references(self) -> list[Ref]:
        """Return the zone when it is named by id."""
        return [] if self.zone == "trigger" else [Ref("zone", self.zone, "zone")]


class ThreatLevelConfig(ConditionConfig):
    """True when the site threat level lies within [at_least, at_most]."""

    condition: Literal["threat_level"] = Field(title="Condition", description="threat_level")
    at_least: int | None = Field(default=None, ge=0, le=10, title="At least", description="Min.")
    at_most: int | None = Field(default=None, ge=0, le=10, title="At most", description="Max.")

    @model_validator(mode="after")
    def verify_bound(self) -> ThreatLevelConfig:
        """Require a bound."""
        if self.at_least is None and self.at_most is None:
            raise ValueError("threat_level needs 'at_least' or 'at_most'")
        return self


class TimeWindowConfig(ConditionConfig):
    """True inside a daily local-time window (``before`` < ``after`` crosses midnight)."""

    condition: Literal["time_window"] = Field(title="Condition", description="time_window")
    after: time = Field(default=time(0, 0), title="After", description="Local start, HH:MM.")
    before: time = Field(default=time(0, 0), title="Before", description="Local end, HH:MM.")
    days: tuple[Weekday, ...] = Field(
        default=WEEKDAYS, min_length=1, title="Days", description="Weekdays."
    )
    timezone: str | None = Field(
        default=None, title="Time zone", description="IANA zone (default: the site's)."
    )


class DoorStateConfig(ConditionConfig):
    """True when the last reported state of a door is one of ``state``."""

    condition: Literal["door_state"] = Field(title="Condition", description="door_state")
    door: str = Field(default="trigger", title="Door", description="Door id or 'trigger'.")
    state: list[str] = Field(min_length=1, title="State", description="Accepted states.")

    def references(self) -> list[Ref]:
        """Return the door when it is named by id."""
        return [] if self.door == "trigger" else [Ref("door", self.door, "door")]


class SensorStateConfig(ConditionConfig):
    """True when the last reported state of a sensor is ``state``."""

    condition: Literal["sensor_state"] = Field(title="Condition", description="sensor_state")
    device: str = Field(title="Sensor", description="Sensor device id.")
    state: Literal["active", "inactive"] = Field(title="State", description="Expected state.")

    def references(self) -> list[Ref]:
        """Return the sensor."""
        return [Ref("sensor", self.device, "device")]


class _NestedConfig(ConditionConfig):
    """Base of the conditions made of other conditions."""

    conditions: list[dict[str, Any]] = Field(min_length=1, title="Of", description="Conditions.")

    def references(self) -> list[Ref]:
        """Return the references of every inner condition."""
        refs: list[Ref] = []
        for i, raw in enumerate(self.conditions):
            refs += prefixed(
                f"conditions.{i}", parse_condition(raw, f"conditions.{i}").references()
            )
        return refs


class AndConfig(_NestedConfig):
    """True when every sub-condition is."""

    condition: Literal["and"] = Field(title="Condition", description="and")


class OrConfig(_NestedConfig):
    """True when any sub-condition is."""

    condition: Literal["or"] = Field(title="Condition", description="or")


class NotConfig(_NestedConfig):
    """True when no sub-condition is."""

    condition: Literal["not"] = Field(title="Condition", description="not")


def _zone_armed(cfg: ZoneArmedConfig, env: RuleEnv) -> Checker:
    def check(run: RunState) -> bool:
        zone = run.zone_id if cfg.zone == "trigger" else cfg.zone
        return env.board.is_armed(run.site_id, zone, run.now) is cfg.armed

    return check


def _threat(cfg: ThreatLevelConfig, env: RuleEnv) -> Checker:
    low = cfg.at_least if cfg.at_least is not None else 0
    high = cfg.at_most if cfg.at_most is not None else 10
    return lambda _run: low <= env.live.threat_level <= high


def _window(cfg: TimeWindowConfig, env: RuleEnv) -> Checker:
    fixed = ZoneInfo(cfg.timezone) if cfg.timezone else None
    start, end, days = cfg.after, cfg.before, frozenset(cfg.days)

    def check(run: RunState) -> bool:
        tz = fixed
        if tz is None:
            site = env.site_for(run.site_id)
            tz = ZoneInfo(site.site.timezone) if site is not None else ZoneInfo("UTC")
        local = run.now.astimezone(tz)
        now_t = local.time()
        weekday = WEEKDAYS[local.weekday()]
        if start == end:
            return weekday in days
        if start < end:
            return weekday in days and start <= now_t < end
        # Crossing midnight: the early part belongs to the previous day's window.
        if now_t >= start:
            return weekday in days
        previous = WEEKDAYS[(local.weekday() - 1) % 7]
        return now_t < end and previous in days

    return check


def _door_state(cfg: DoorStateConfig, env: RuleEnv) -> Checker:
    accepted = frozenset(cfg.state)

    def check(run: RunState) -> bool:
        door = run.door_id if cfg.door == "trigger" else cfg.door
        return door is not None and env.live.doors.get((run.site_id, door)) in accepted

    return check


def _sensor_state(cfg: SensorStateConfig, env: RuleEnv) -> Checker:
    return lambda run: env.live.sensors.get((run.site_id, cfg.device)) == cfg.state


def _and(cfg: AndConfig, env: RuleEnv, path: str) -> Checker:
    subs = [compile_condition(f"{path}/{i}", raw, env) for i, raw in enumerate(cfg.conditions)]
    return lambda run: all(c(run) for c in subs)


def _or(cfg: OrConfig, env: RuleEnv, path: str) -> Checker:
    subs = [compile_condition(f"{path}/{i}", raw, env) for i, raw in enumerate(cfg.conditions)]
    return lambda run: any(c(run) for c in subs)


def _not(cfg: NotConfig, env: RuleEnv, path: str) -> Checker:
    subs = [compile_condition(f"{path}/{i}", raw, env) for i, raw in enumerate(cfg.conditions)]
    return lambda run: not any(c(run) for c in subs)


CONDITIONS: dict[str, tuple[type[ConditionConfig], Callable[..., Checker]]] = {
    "zone_armed": (ZoneArmedConfig, _zone_armed),
    "threat_level": (ThreatLevelConfig, _threat),
    "time_window": (TimeWindowConfig, _window),
    "door_state": (DoorStateConfig, _door_state),
    "sensor_state": (SensorStateConfig, _sensor_state),
    "and": (AndConfig, _and),
    "or": (OrConfig, _or),
    "not": (NotConfig, _not),
}
"""Registered condition kinds: name → (config model, compiler)."""

_NESTED = {"and", "or", "not"}


def parse_condition(raw: Any, path: str = "condition") -> ConditionConfig:
    """Validate one raw condition mapping against its registered model."""
    if not isinstance(raw, dict) or "condition" not in raw:
        raise ConfigError("a condition needs a 'condition' key", field=path)
    name = raw["condition"]
    if name not in CONDITIONS:
        known = ", ".join(sorted(CONDITIONS))
        raise ConfigError(f"unknown condition {name!r} (known: {known})", field=path)
    model = CONDITIONS[name][0]
    return model.model_validate(raw)


def compile_condition(path: str, raw: dict[str, Any] | ConditionConfig, env: RuleEnv) -> Checker:
    """Compile a condition into a checker closure that records its result in the trace."""
    cfg = raw if isinstance(raw, ConditionConfig) else parse_condition(raw, path)
    _model, compiler = CONDITIONS[cfg.condition]
    inner = compiler(cfg, env, path) if cfg.condition in _NESTED else compiler(cfg, env)

    def traced(run: RunState) -> bool:
        result = bool(inner(run))
        run.trace(path, result=result)
        return result

    return traced
