"""The check kinds a rule can use, each with typed parameters and one evaluating function.

Three families: the site model (coverage, sensors, arming, locks, power), settings and
records (cameras, retention, visitor log, incident notices, periodic duties, training)
and manual attestations. Every check returns a status and the evidence that decided it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bastion.compliance.profile import Profile, ZoneRole
from bastion.compliance.records import Record, Records
from bastion.core.sitetime import site_time
from bastion.site.schemas import OUTSIDE, Door, Layer, Site

Status = Literal["pass", "fail", "unknown", "manual"]


@dataclass(frozen=True)
class Subject:
    """What a rule is checked against."""

    site: Site
    profile: Profile
    records: Records
    now: datetime


@dataclass(frozen=True)
class Outcome:
    """A check's verdict and the evidence behind it."""

    status: Status
    evidence: list[str] = field(default_factory=list)


class Params(BaseModel):
    """Base of check parameters: unknown parameters are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class CheckKind:
    """One kind of automatic (or manual) check."""

    name: str
    family: Literal["site", "records", "manual"]
    params: type[Params]
    run: Callable[[Subject, Any], Outcome]


KINDS: dict[str, CheckKind] = {}


def _kind(
    name: str, family: Literal["site", "records", "manual"], params: type[Params]
) -> Callable[[Callable[[Subject, Any], Outcome]], Callable[[Subject, Any], Outcome]]:
    def register(func: Callable[[Subject, Any], Outcome]) -> Callable[[Subject, Any], Outcome]:
        KINDS[name] = CheckKind(name, family, params, func)
        return func

    return register


# --- the site model -------------------------------------------------------------------------

_ROLE_WORDS: dict[str, re.Pattern[str]] = {
    "pos": re.compile(r"\b(sales|pos|register|counter|checkout)\b"),
    "loading": re.compile(r"\b(dock|loading|shipping|receiving)\b"),
    "destruction": re.compile(r"\b(destruction|waste|disposal)\b"),
    "surveillance_room": re.compile(r"\b(server|recorder|nvr|surveillance|security)\b"),
    "cultivation": re.compile(r"\b(grow|flower|veg|clone|mother|drying|cure|curing)\b"),
    "processing": re.compile(r"\b(processing|packaging|extraction|trim|kitchen)\b"),
    "storage": re.compile(r"\b(vault|storage|stock)\b"),
}


def zones_with_role(site: Site, profile: Profile, role: ZoneRole) -> list[str]:
    """Return the zones that play ``role``: the profile's list, else inferred from the model."""
    if role in profile.zones:
        return list(profile.zones[role])
    if role == "vault":
        return [z.id for z in site.zones if z.layer is Layer.VAULT]
    if role == "limited_access":
        return [z.id for z in site.zones if z.layer >= Layer.RESTRICTED]
    if role == "parking":
        return [z.id for z in site.zones if z.layer is Layer.PERIMETER]
    words = _ROLE_WORDS[role]
    return [
        z.id
        for z in site.zones
        if words.search(f"{z.id} {z.name}".lower().replace("-", " ").replace("_", " "))
    ]


def _layer(site: Site, zone_id: str) -> Layer:
    if zone_id == OUTSIDE:
        return Layer.OUTSIDE
    return next(z.layer for z in site.zones if z.id == zone_id)


def exterior_doors(site: Site) -> list[Door]:
    """Doors into the building from outside or from the fenced lot."""
    return [
        d
        for d in site.doors
        if _layer(site, d.from_zone) <= Layer.PERIMETER
        and _layer(site, d.to_zone) > Layer.PERIMETER
    ]


def _cameras_on(site: Site, zone_id: str) -> list[str]:
    return [d.id for d in site.devices if d.type == "camera" and zone_id in d.covers]


class CoverageParams(Params):
    """Zones of these roles (and building entrances, if listed) need a camera."""

    roles: list[Literal[ZoneRole, "entrance"]] = Field(min_length=1)
    both_sides: bool = Field(default=False, description="Entrances seen from in and outside.")


@_kind("camera_coverage", "site", CoverageParams)
def _camera_coverage(subject: Subject, params: CoverageParams) -> Outcome:
    site, evidence, missing = subject.site, [], []
    for role in params.roles:
        if role == "entrance":
            for door in exterior_doors(site):
                inside = _cameras_on(site, door.to_zone)
                outside = _cameras_on(site, door.from_zone) if door.from_zone != OUTSIDE else []
                if not inside or (params.both_sides and not outside):
                    side = "inside" if not inside else "outside"
                    missing.append(f"entrance {door.name} ({door.id}) has no camera {side}")
                else:
                    evidence.append(
                        f"entrance {door.id}: inside {', '.join(inside)}"
                        + (f"; outside {', '.join(outside)}" if outside else "")
                    )
            continue
        zones = zones_with_role(site, subject.profile, role)
        if not zones:
            evidence.append(f"no zone plays the role {role}")
            continue
        for zone in zones:
            cams = _cameras_on(site, zone)
            if cams:
                evidence.append(f"{role} zone {zone}: {', '.join(cams)}")
            else:
                missing.append(f"{role} zone {zone} is covered by no camera")
    return Outcome("fail", missing + evidence) if missing else Outcome("pass", evidence)


class NoParams(Params):
    """No parameters."""


def _barrier_sensed(subject: Subject, barrier_id: str, zone: str, kind: str) -> list[str]:
    declared = subject.profile.barrier_sensors.get(barrier_id, [])
    if kind in declared:
        return [f"profile: {kind} on {barrier_id}"]
    return [d.id for d in subject.site.devices if d.type == kind and d.zone == zone]


@_kind("perimeter_contacts", "site", NoParams)
def _perimeter_contacts(subject: Subject, _: NoParams) -> Outcome:
    site, evidence, missing = subject.site, [], []
    for door in exterior_doors(site):
        contacts = [d.id for d in site.devices if d.type == "contact" and d.door == door.id]
        if contacts:
            evidence.append(f"door {door.id}: contact {', '.join(contacts)}")
        else:
            missing.append(f"exterior door {door.name} ({door.id}) has no contact sensor")
    for barrier in site.barriers:
        if barrier.kind != "loading_dock" or _layer(site, barrier.from_zone) > Layer.PERIMETER:
            continue
        declared = subject.profile.barrier_sensors.get(barrier.id, [])
        if "contact" in declared:
            evidence.append(f"roll-up {barrier.id}: contact (profile)")
        else:
            missing.append(f"roll-up door {barrier.name} ({barrier.id}) has no contact sensor")
    return Outcome("fail", missing + evidence) if missing else Outcome("pass", evidence)


@_kind("window_glass_break", "site", NoParams)
def _window_glass_break(subject: Subject, _: NoParams) -> Outcome:
    site, evidence, missing = subject.site, [], []
    for barrier in site.barriers:
        if barrier.kind != "window":
            continue
        sensors = _barrier_sensed(subject, barrier.id, barrier.to_zone, "glass_break")
        if sensors:
            evidence.append(f"window {barrier.id}: {', '.join(sensors)}")
        else:
            missing.append(f"window {barrier.name} ({barrier.id}) has no glass-break sensor")
    if not missing and not evidence:
        evidence.append("the site has no perimeter windows")
    return Outcome("fail", missing + evidence) if missing else Outcome("pass", evidence)


@_kind("vault_armed", "site", NoParams)
def _vault_armed(subject: Subject, _: NoParams) -> Outcome:
    site, evidence, missing = subject.site, [], []
    vaults = zones_with_role(site, subject.profile, "vault")
    if not vaults:
        return Outcome("fail", ["the site has no vault zone"])
    for zone_id in vaults:
        zone = next((z for z in site.zones if z.id == zone_id), None)
        if zone is None:
            missing.append(f"profile names unknown vault zone {zone_id}")
            continue
        motion = [d.id for d in site.devices if d.type == "motion" and d.zone == zone_id]
        if not zone.always_armed:
            missing.append(f"vault {zone_id} is not a 24-hour (always armed) zone")
        if not motion:
            missing.append(f"vault {zone_id} has no motion sensor")
        if zone.always_armed and motion:
            evidence.append(f"vault {zone_id}: always armed; motion {', '.join(motion)}")
    return Outcome("fail", missing + evidence) if missing else Outcome("pass", evidence)


class LockParams(Params):
    """Exterior doors need one of these lock kinds."""

    kinds: list[Literal["manual", "electric"]] = Field(default=["manual", "electric"])


@_kind("exterior_locks", "site", LockParams)
def _exterior_locks(subject: Subject, params: LockParams) -> Outcome:
    site, evidence, missing, unknown = subject.site, [], [], []
    for door in exterior_doors(site):
        declared = subject.profile.doors.get(door.id)
        lock = declared.lock if declared else None
        has = {"manual", "electric"} if lock == "both" else ({lock} if lock else set())
        if lock is None and "electric" in params.kinds:
            readers = [d.id for d in site.devices if d.type == "reader" and d.door == door.id]
            if readers and door.fail == "secure":
                has = {"electric"}
        if has & set(params.kinds):
            evidence.append(f"door {door.id}: {'/'.join(sorted(has))} lock")
        elif lock is None:
            unknown.append(f"door {door.name} ({door.id}): lock not recorded")
        else:
            missing.append(f"door {door.name} ({door.id}) has a {lock} lock, needs {params.kinds}")
    if missing:
        return Outcome("fail", missing + unknown + evidence)
    return Outcome("unknown", unknown + evidence) if unknown else Outcome("pass", evidence)


class PowerParams(Params):
    """Backup power of at least ``min_minutes`` (or a generator when ``unlimited``)."""

    min_minutes: float = Field(default=0, ge=0)
    unlimited: bool = False


@_kind("backup_power", "site", PowerParams)
def _backup_power(subject: Subject, params: PowerParams) -> Outcome:
    power = subject.profile.power
    if params.unlimited:
        if power.generator is None:
            return Outcome("unknown", ["no generator is declared in the profile"])
        return Outcome("pass" if power.generator else "fail", [f"generator: {power.generator}"])
    if power.generator:
        return Outcome("pass", ["a generator carries the security systems"])
    if power.backup_minutes is None:
        return Outcome("unknown", ["backup power runtime is not declared"])
    ok = power.backup_minutes >= params.min_minutes
    line = f"UPS runtime {power.backup_minutes:g} min (needs {params.min_minutes:g})"
    return Outcome("pass" if ok else "fail", [line])


@_kind("panic_alarm", "site", NoParams)
def _panic_alarm(subject: Subject, _: NoParams) -> Outcome:
    panics = [d.id for d in subject.site.devices if d.type == "panic"]
    if not panics:
        return Outcome("fail", ["the site has no hold-up or panic button"])
    return Outcome("pass", [f"panic buttons: {', '.join(panics)}"])


class FlagParams(Params):
    """A yes/no fact of the profile must be yes."""

    fact: Literal[
        "alarm.monitored",
        "alarm.licensed_operator",
        "alarm.police_dispatch",
        "video.law_enforcement_remote_access",
        "video.recorder_locked",
        "video.time_sync",
    ]


@_kind("profile_fact", "site", FlagParams)
def _profile_fact(subject: Subject, params: FlagParams) -> Outcome:
    section, name = params.fact.split(".")
    value = getattr(getattr(subject.profile, section), name)
    if value is None:
        return Outcome("unknown", [f"{params.fact} is not declared in the profile"])
    ok = value not in (False, "none")
    return Outcome("pass" if ok else "fail", [f"{params.fact}: {value}"])


# --- settings: cameras and retention --------------------------------------------------------


class ResolutionParams(Params):
    """Every camera records at least ``width`` × ``height``."""

    width: int = Field(gt=0)
    height: int = Field(gt=0)


@_kind("camera_resolution", "records", ResolutionParams)
def _camera_resolution(subject: Subject, params: ResolutionParams) -> Outcome:
    bad, unknown, good = [], [], []
    for cam in (d for d in subject.site.devices if d.type == "camera"):
        conf = subject.profile.camera(cam.id)
        if conf.width is None or conf.height is None:
            unknown.append(f"{cam.id}: resolution not recorded")
        elif conf.width < params.width or conf.height < params.height:
            bad.append(f"{cam.id}: {conf.width}×{conf.height} < {params.width}×{params.height}")
        else:
            good.append(f"{cam.id}: {conf.width}×{conf.height}")
    if bad:
        return Outcome("fail", bad + unknown)
    return Outcome("unknown", unknown) if unknown else Outcome("pass", good)


class FpsParams(Params):
    """Every camera records at least ``min_fps`` frames per second."""

    min_fps: float = Field(gt=0)


@_kind("camera_fps", "records", FpsParams)
def _camera_fps(subject: Subject, params: FpsParams) -> Outcome:
    bad, unknown, good = [], [], []
    for cam in (d for d in subject.site.devices if d.type == "camera"):
        fps = subject.profile.camera(cam.id).fps
        if fps is None:
            unknown.append(f"{cam.id}: frame rate not recorded")
        elif fps < params.min_fps:
            bad.append(f"{cam.id}: {fps:g} fps < {params.min_fps:g}")
        else:
            good.append(f"{cam.id}: {fps:g} fps")
    if bad:
        return Outcome("fail", bad + unknown)
    return Outcome("unknown", unknown) if unknown else Outcome("pass", good)


class DaysParams(Params):
    """Keep at least ``min_days``."""

    min_days: int = Field(ge=0)


@_kind("video_retention", "records", DaysParams)
def _video_retention(subject: Subject, params: DaysParams) -> Outcome:
    bad, unknown, good = [], [], []
    system = subject.profile.video.retention_days
    for cam in (d for d in subject.site.devices if d.type == "camera"):
        days = subject.profile.camera(cam.id).retention_days or system
        if days is None:
            unknown.append(f"{cam.id}: retention not recorded")
        elif days < params.min_days:
            bad.append(f"{cam.id}: kept {days} days < {params.min_days}")
        else:
            good.append(f"{cam.id}: kept {days} days")
    if bad:
        return Outcome("fail", bad + unknown)
    return (
        Outcome("unknown", unknown)
        if unknown
        else Outcome("pass", good[:3] + ["…"][: len(good) > 3])
    )


@_kind("offsite_backup", "records", DaysParams)
def _offsite_backup(subject: Subject, params: DaysParams) -> Outcome:
    days = subject.profile.video.offsite_backup_days
    if days is None:
        return Outcome("unknown", ["off-site video backup is not declared"])
    ok = days >= params.min_days
    return Outcome(
        "pass" if ok else "fail", [f"off-site copy kept {days} days (needs {params.min_days})"]
    )


class AlertParams(Params):
    """A surveillance failure reaches a person within ``within_minutes``."""

    within_minutes: float = Field(gt=0)


@_kind("failure_alert", "records", AlertParams)
def _failure_alert(subject: Subject, params: AlertParams) -> Outcome:
    tests = subject.records.of("failure_test")
    if tests:
        last = tests[0]
        delay = float(last.detail.get("delay_s", 1e9)) / 60
        ok = delay <= params.within_minutes
        line = f"last failure test: alert after {delay:.1f} min; {last.describe()}"
        return Outcome("pass" if ok else "fail", [line])
    declared = subject.profile.video.failure_alert_minutes
    if declared is None:
        return Outcome("unknown", ["no failure test recorded and no alert time declared"])
    ok = declared <= params.within_minutes
    line = f"declared alert time {declared:g} min (needs ≤{params.within_minutes:g})"
    return Outcome("pass" if ok else "fail", [line])


class RetentionParams(Params):
    """Each record class is kept at least ``min_days``."""

    classes: list[str] = Field(min_length=1)
    min_days: int = Field(gt=0)


@_kind("record_retention", "records", RetentionParams)
def _record_retention(subject: Subject, params: RetentionParams) -> Outcome:
    bad, unknown, good = [], [], []
    for name in params.classes:
        if name not in subject.profile.retention:
            unknown.append(f"{name}: retention period not set")
            continue
        days = subject.profile.retention[name]
        if days is not None and days < params.min_days:
            bad.append(f"{name}: kept {days} days < {params.min_days}")
        else:
            good.append(f"{name}: kept {'for ever' if days is None else f'{days} days'}")
    if bad:
        return Outcome("fail", bad + unknown)
    return Outcome("unknown", unknown) if unknown else Outcome("pass", good)


VISIT_FIELDS = {
    "name",
    "company",
    "purpose",
    "date",
    "time_in",
    "time_out",
    "badge_number",
    "escort",
}


class VisitorParams(Params):
    """Visitor log entries hold these fields."""

    fields: list[str] = Field(min_length=1)
    lookback_days: int = Field(default=90, gt=0)


@_kind("visitor_log", "records", VisitorParams)
def _visitor_log(subject: Subject, params: VisitorParams) -> Outcome:
    unsupported = sorted(set(params.fields) - VISIT_FIELDS)
    if unsupported:
        return Outcome("fail", [f"the visitor log does not record: {', '.join(unsupported)}"])
    if not subject.records.available:
        return Outcome("unknown", ["no visitor records to check"])
    since = subject.now - timedelta(days=params.lookback_days)
    visits = [r for r in subject.records.of("visit") if r.at >= since]
    gaps = []
    for visit in visits:
        empty = [f for f in params.fields if f not in ("date",) and not visit.detail.get(f)]
        if empty:
            name = visit.ref or f"{visit.at:%Y-%m-%d %H:%M}"
            gaps.append(f"visit {name}: missing {', '.join(empty)}")
    if gaps:
        return Outcome("fail", gaps[:20])
    return Outcome("pass", [f"{len(visits)} visits in {params.lookback_days} days, all complete"])


class IncidentParams(Params):
    """Qualifying incidents are notified within ``hours`` of discovery."""

    hours: float = Field(gt=0)
    recipients: list[str] = Field(min_length=1)
    triggers: list[str] = Field(min_length=1)


def _aware(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


@_kind("incident_notice", "records", IncidentParams)
def _incident_notice(subject: Subject, params: IncidentParams) -> Outcome:
    if not subject.records.available:
        return Outcome("unknown", ["no incident register to check"])
    late, good = [], []
    zone = subject.site.site.timezone
    for inc in subject.records.of("incident"):
        if inc.detail.get("type") not in params.triggers:
            continue
        discovered = _aware(inc.detail.get("discovered_at")) or inc.at
        notified = _aware(inc.detail.get("notified_at"))
        due = discovered + timedelta(hours=params.hours)
        if notified is None and subject.now > due:
            late.append(f"{inc.ref or 'incident'}: not notified, due {site_time(due, zone)}")
        elif notified is not None and notified > due:
            late.append(f"{inc.ref or 'incident'}: notified late ({site_time(notified, zone)})")
        else:
            good.append(f"{inc.ref or 'incident'}: on time")
    if late:
        return Outcome("fail", late + good)
    return Outcome("pass", good or ["no qualifying incidents on record"])


class PeriodicParams(Params):
    """A record of ``record`` no older than ``max_age_days``."""

    record: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    max_age_days: float = Field(gt=0)


def _last(subject: Subject, kind: str) -> Record | None:
    found = subject.records.of(kind)
    return found[0] if found else None


@_kind("periodic", "records", PeriodicParams)
def _periodic(subject: Subject, params: PeriodicParams) -> Outcome:
    if not subject.records.available:
        return Outcome("unknown", [f"no records to look for {params.record}"])
    last = _last(subject, params.record)
    if last is None:
        return Outcome("fail", [f"no {params.record} on record"])
    age = (subject.now - last.at).total_seconds() / 86400
    line = f"last {last.describe()}, {age:.1f} days ago (limit {params.max_age_days:g})"
    return Outcome("pass" if age <= params.max_age_days else "fail", [line])


class TrainingParams(Params):
    """Every active employee's training (of ``course``, if given) is current."""

    course: str | None = None


@_kind("training_current", "records", TrainingParams)
def _training_current(subject: Subject, params: TrainingParams) -> Outcome:
    if not subject.records.available:
        return Outcome("unknown", ["no training records to check"])
    rows = [
        r
        for r in subject.records.of("training")
        if params.course is None or r.detail.get("course") == params.course
    ]
    if not rows:
        return Outcome("fail", ["no training on record"])
    lapsed = []
    for r in rows:
        expires = _aware(r.detail.get("expires_at"))
        if expires is not None and expires < subject.now:
            lapsed.append(
                f"{r.ref or r.by}: {r.detail.get('course', 'training')} lapsed {expires:%Y-%m-%d}"
            )
    if lapsed:
        return Outcome("fail", lapsed[:20])
    return Outcome("pass", [f"{len(rows)} training records, none lapsed"])


class AttestParams(Params):
    """Someone attests with a document; valid for ``max_age_days``."""

    evidence: str = Field(min_length=1, description="What the attestation must show.")
    max_age_days: float = Field(default=365, gt=0)


def attestation_for(records: Records, rule_id: str) -> Record | None:
    """Return the newest attestation of a rule."""
    found = [r for r in records.of("attestation") if r.rule == rule_id]
    return found[0] if found else None


def run_attestation(subject: Subject, params: AttestParams, rule_id: str) -> Outcome:
    """Manual rules pass only on a current attestation with a document."""
    last = attestation_for(subject.records, rule_id)
    if last is None:
        return Outcome("manual", [f"needs an attestation: {params.evidence}"])
    age = (subject.now - last.at).total_seconds() / 86400
    if age > params.max_age_days:
        return Outcome("manual", [f"attestation expired ({last.describe()}); attest again"])
    document = last.detail.get("document") or "no document"
    return Outcome("pass", [f"attested: {last.describe()}; document {document}"])


KINDS["attestation"] = CheckKind(
    "attestation", "manual", AttestParams, lambda _s, _p: Outcome("manual")
)
