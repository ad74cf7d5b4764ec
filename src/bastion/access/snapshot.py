"""The compiled, versioned snapshot the engine decides against, and the specs it is built from.

Specs are plain frozen dataclasses (what the service loads from the database, or a test
or benchmark writes by hand). Compiling validates every cross-reference first and
only then swaps entries in, so a bad level or policy is a clear error and nothing is
half-applied. Changes are incremental: one person, credential, level or door policy
at a time, each bumping the version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bastion.access.schedules import CompiledSchedule, LocalClock, compile_schedules
from bastion.core.errors import ConfigError
from bastion.site.graph import SiteGraph
from bastion.site.schemas import DeviceType, Site


class DoorMode(StrEnum):
    """How a door treats credentials."""

    LOCKED = "locked"
    UNLOCKED_BY_SCHEDULE = "unlocked_by_schedule"
    CARD_ONLY = "card_only"
    CARD_AND_PIN = "card_and_pin"
    LOCKDOWN = "lockdown"
    EGRESS_ONLY = "egress_only"


class CredentialKind(StrEnum):
    """What a credential is."""

    CARD = "card"
    PIN = "pin"
    CARD_AND_PIN = "card_and_pin"
    MOBILE = "mobile"


class AntiPassbackMode(StrEnum):
    """Hard denies re-entry, soft grants but flags it, timed denies within a timeout."""

    HARD = "hard"
    SOFT = "soft"
    TIMED = "timed"


@dataclass(frozen=True, slots=True)
class PersonSpec:
    """A cardholder as the engine needs it: no name, no personal data."""

    id: str
    kind: str = "employee"
    status: str = "active"
    role: str = ""
    levels: tuple[str, ...] = ()
    training: tuple[tuple[str, float | None], ...] = ()
    """(course, expiry as epoch seconds or None for no expiry)."""
    background_check: str = "not_required"


@dataclass(frozen=True, slots=True)
class CredentialSpec:
    """A credential: keyed hashes only, validity as epoch seconds."""

    id: str
    person_id: str
    kind: CredentialKind
    card_hash: str | None = None
    pin_hash: str | None = None
    mobile_hash: str | None = None
    activates_at: float | None = None
    expires_at: float | None = None
    revoked: bool = False

    def __repr__(self) -> str:
        return f"CredentialSpec(id={self.id!r}, person_id={self.person_id!r}, kind={self.kind!s})"


@dataclass(frozen=True, slots=True)
class LevelSpec:
    """An access level: doors and/or zones of one site × a schedule, with its gates."""

    id: str
    site_id: str
    schedule_id: str | None = None
    doors: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    max_threat_level: int = 0
    requires_training: tuple[str, ...] = ()
    requires_background_check: bool = False


@dataclass(frozen=True, slots=True)
class DoorPolicySpec:
    """How one door behaves: mode, unlock schedule, two-person, escort, first-person-in."""

    site_id: str
    door_id: str
    mode: DoorMode = DoorMode.CARD_ONLY
    unlock_schedule_id: str | None = None
    two_person: bool = False
    two_person_window_s: float = 30.0
    two_person_distinct_roles: bool = False
    escort_required: bool = True
    escort_window_s: float = 30.0
    escort_ratio: int = 3
    first_person_in: bool = False
    supervisor_roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AntiPassbackSpec:
    """Anti-passback on entering one zone."""

    site_id: str
    zone_id: str
    mode: AntiPassbackMode = AntiPassbackMode.HARD
    timeout_s: float = 0.0


@dataclass(frozen=True, slots=True)
class InterlockSpec:
    """A mantrap: while one of these doors is open, the others stay locked."""

    site_id: str
    id: str
    doors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SiteStateSpec:
    """Persisted site-wide state: threat level and locked-down zones."""

    site_id: str
    threat_level: int = 0
    lockdown_zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """Everything the engine compiles, besides the site models."""

    people: tuple[PersonSpec, ...] = ()
    credentials: tuple[CredentialSpec, ...] = ()
    levels: tuple[LevelSpec, ...] = ()
    door_policies: tuple[DoorPolicySpec, ...] = ()
    anti_passback: tuple[AntiPassbackSpec, ...] = ()
    interlocks: tuple[InterlockSpec, ...] = ()
    site_states: tuple[SiteStateSpec, ...] = field(default=())


# --- compiled entries -----------------------------------------------------------------------


def door_key(site_id: str, door_id: str) -> str:
    """Return the canonical key of a door: ``site/door``."""
    return f"{site_id}/{door_id}"


class SiteEntry:
    """A compiled site: its local clock, schedules, graph and reader sides."""

    __slots__ = (
        "clock",
        "doors_by_id",
        "doors_into",
        "graph",
        "id",
        "readers",
        "schedules",
        "site",
        "zone_ids",
    )

    def __init__(self, site: Site) -> None:
        self.site = site
        self.id = site.site.id
        self.clock: LocalClock
        self.schedules: dict[str, CompiledSchedule]
        self.clock, self.schedules = compile_schedules(site)
        self.graph = SiteGraph(site)
        self.doors_by_id = {d.id: d for d in site.doors}
        self.zone_ids = frozenset(z.id for z in site.zones)
        self.doors_into: dict[str, list[str]] = {}
        for door in site.doors:
            self.doors_into.setdefault(door.to_zone, []).append(door.id)
        self.readers: dict[str, tuple[str, bool]] = {
            d.id: (d.door, d.side == "exit")
            for d in site.devices
            if d.type is DeviceType.READER and d.door is not None
        }

    def schedule(self, schedule_id: str, *, field: str, owner: str) -> CompiledSchedule:
        """Return a compiled schedule or raise ConfigError naming the owner."""
        compiled = self.schedules.get(schedule_id)
        if compiled is None:
            raise ConfigError(
                f"{owner} references schedule {schedule_id!r}, which site {self.id!r} "
                "does not define",
                field=field,
            )
        return compiled


class ApbEntry:
    """Anti-passback on entering one zone."""

    __slots__ = ("mode", "timeout_s", "zone")

    def __init__(self, spec: AntiPassbackSpec) -> None:
        self.zone = f"{spec.site_id}/{spec.zone_id}"
        self.mode = spec.mode
        self.timeout_s = spec.timeout_s


class DoorEntry:
    """A compiled door: everything a decision at it needs, one attribute away."""

    __slots__ = (
        "apb_in",
        "apb_out",
        "door_id",
        "escort_ratio",
        "escort_required",
        "escort_window_s",
        "first_person_in",
        "from_zone",
        "interlock",
        "key",
        "mode",
        "site_id",
        "strike_time_s",
        "supervisors",
        "to_zone",
        "two_person",
        "two_person_distinct_roles",
        "two_person_window_s",
        "unlock",
    )

    def __init__(
        self,
        site: SiteEntry,
        door_id: str,
        policy: DoorPolicySpec | None,
        apb: Mapping[str, ApbEntry],
        interlock: tuple[str, ...],
    ) -> None:
        door = site.doors_by_id[door_id]
        policy = policy or DoorPolicySpec(site_id=site.id, door_id=door_id)
        self.key = door_key(site.id, door_id)
        self.site_id = site.id
        self.door_id = door_id
        self.from_zone = f"{site.id}/{door.from_zone}"
        self.to_zone = f"{site.id}/{door.to_zone}"
        self.mode = policy.mode
        self.strike_time_s = door.strike_time_s
        where = f"door_policies.{door_id}.unlock_schedule_id"
        self.unlock = (
            site.schedule(policy.unlock_schedule_id, field=where, owner=f"door {door_id!r}")
            if policy.unlock_schedule_id
            else None
        )
        if policy.mode is DoorMode.UNLOCKED_BY_SCHEDULE and self.unlock is None:
            raise ConfigError(
                f"door {door_id!r} is unlocked_by_schedule but names no unlock schedule",
                field=where,
            )
        self.two_person = policy.two_person
        self.two_person_window_s = policy.two_person_window_s
        self.two_person_distinct_roles = policy.two_person_distinct_roles
        self.escort_required = policy.escort_required
        self.escort_window_s = policy.escort_window_s
        self.escort_ratio = policy.escort_ratio
        self.first_person_in = policy.first_person_in
        self.supervisors = frozenset(policy.supervisor_roles)
        self.apb_in = apb.get(self.to_zone)
        self.apb_out = apb.get(self.from_zone)
        self.interlock = interlock


class LevelEntry:
    """A compiled access level: a set of door keys, a schedule and its gates."""

    __slots__ = ("background", "doors", "id", "max_threat", "schedule", "site_id", "training")

    def __init__(self, spec: LevelSpec, site: SiteEntry) -> None:
        owner = f"access level {spec.id!r}"
        self.id = spec.id
        self.site_id = spec.site_id
        self.schedule = (
            site.schedule(spec.schedule_id, field=f"levels.{spec.id}.schedule_id", owner=owner)
            if spec.schedule_id
            else None
        )
        keys: set[str] = set()
        for door_id in spec.doors:
            if door_id not in site.doors_by_id:
                raise ConfigError(
                    f"{owner} names door {door_id!r}, which site {site.id!r} does not have",
                    field=f"levels.{spec.id}.doors",
                )
            keys.add(door_key(site.id, door_id))
        for zone_id in spec.zones:
            if zone_id not in site.zone_ids:
                raise ConfigError(
                    f"{owner} names zone {zone_id!r}, which site {site.id!r} does not have",
                    field=f"levels.{spec.id}.zones",
                )
        for zone_id in spec.zones:
            keys.update(door_key(site.id, d) for d in site.doors_into.get(zone_id, ()))
        if not keys:
            raise ConfigError(f"{owner} covers no door", field=f"levels.{spec.id}")
        if not 0 <= spec.max_threat_level <= 10:
            raise ConfigError(f"{owner}: max_threat_level must be 0–10", field="max_threat_level")
        self.doors = frozenset(keys)
        self.max_threat = spec.max_threat_level
        self.training = tuple(spec.requires_training)
        self.background = spec.requires_background_check


class PersonEntry:
    """A compiled cardholder."""

    __slots__ = ("active", "background", "id", "kind", "levels", "role", "status", "training")

    def __init__(self, spec: PersonSpec) -> None:
        self.id = spec.id
        self.kind = spec.kind
        self.status = spec.status
        self.active = spec.status == "active"
        self.role = spec.role
        self.levels = tuple(dict.fromkeys(spec.levels))
        self.training: dict[str, float | None] = dict(spec.training)
        self.background = spec.background_check


class CredEntry:
    """A compiled credential."""

    __slots__ = (
        "activates",
        "card_hash",
        "expires",
        "id",
        "kind",
        "mobile_hash",
        "person_id",
        "pin_hash",
        "revoked",
    )

    def __init__(self, spec: CredentialSpec) -> None:
        self.id = spec.id
        self.person_id = spec.person_id
        self.kind = CredentialKind(spec.kind)
        self.card_hash = spec.card_hash
        self.pin_hash = spec.pin_hash
        self.mobile_hash = spec.mobile_hash
        self.activates = spec.activates_at
        self.expires = spec.expires_at
        self.revoked = spec.revoked

    def __repr__(self) -> str:
        return f"CredEntry(id={self.id!r}, kind={self.kind!s}, revoked={self.revoked})"


def verify_credential(spec: CredentialSpec) -> None:
    """Check that a credential carries the hashes its kind needs."""
    kind = CredentialKind(spec.kind)
    needs_card = kind in (CredentialKind.CARD, CredentialKind.CARD_AND_PIN)
    if needs_card and not spec.card_hash:
        raise ConfigError(f"credential {spec.id!r} ({kind}) has no card data")
    if kind in (CredentialKind.PIN, CredentialKind.CARD_AND_PIN) and not spec.pin_hash:
        raise ConfigError(f"credential {spec.id!r} ({kind}) has no PIN")
    if kind is CredentialKind.MOBILE and not spec.mobile_hash:
        raise ConfigError(f"credential {spec.id!r} (mobile) has no token")
    if (
        spec.activates_at is not None
        and spec.expires_at is not None
        and spec.expires_at <= spec.activates_at
    ):
        raise ConfigError(f"credential {spec.id!r} expires before it activates")


class Snapshot:
    """The compiled policy: sites, doors, levels, people and credentials, versioned."""

    def __init__(self) -> None:
        self.version = 0
        self.sites: dict[str, SiteEntry] = {}
        self.doors: dict[str, DoorEntry] = {}
        self.readers: dict[str, tuple[str, bool]] = {}
        self.levels: dict[str, LevelEntry] = {}
        self.people: dict[str, PersonEntry] = {}
        self.creds: dict[str, CredEntry] = {}
        self.by_card: dict[str, CredEntry] = {}
        self.by_pin: dict[str, CredEntry] = {}
        self.by_mobile: dict[str, CredEntry] = {}
        self.level_specs: dict[str, LevelSpec] = {}
        self.door_specs: dict[str, DoorPolicySpec] = {}
        self.apb_specs: dict[str, AntiPassbackSpec] = {}
        self.interlock_specs: dict[str, InterlockSpec] = {}

    # --- sites and doors ----------------------------------------------------------------

    def _site(self, site_id: str, owner: str) -> SiteEntry:
        site = self.sites.get(site_id)
        if site is None:
            raise ConfigError(f"{owner} belongs to site {site_id!r}, which is not loaded")
        return site

    def _compile_doors(
        self,
        site: SiteEntry,
        door_specs: Mapping[str, DoorPolicySpec],
        apb_specs: Mapping[str, AntiPassbackSpec],
        interlocks: Mapping[str, InterlockSpec],
    ) -> dict[str, DoorEntry]:
        apb = {
            f"{s.site_id}/{s.zone_id}": ApbEntry(s)
            for s in apb_specs.values()
            if s.site_id == site.id
        }
        known_zones = {z.id for z in site.site.zones}
        for spec in apb_specs.values():
            if spec.site_id == site.id and spec.zone_id not in known_zones:
                raise ConfigError(
                    f"anti-passback names zone {spec.zone_id!r}, which site {site.id!r} "
                    "does not have",
                    field="anti_passback.zone_id",
                )
        known_doors = {d.id for d in site.site.doors}
        partners: dict[str, set[str]] = {}
        for group in interlocks.values():
            if group.site_id != site.id:
                continue
            for door_id in group.doors:
                if door_id not in known_doors:
                    raise ConfigError(
                        f"interlock {group.id!r} names door {door_id!r}, which site "
                        f"{site.id!r} does not have",
                        field="interlocks.doors",
                    )
            for door_id in group.doors:
                partners.setdefault(door_id, set()).update(
                    door_key(site.id, other) for other in group.doors if other != door_id
                )
        for key, door_spec in door_specs.items():
            if door_spec.site_id == site.id and door_spec.door_id not in known_doors:
                raise ConfigError(
                    f"door policy names door {door_spec.door_id!r}, which site {site.id!r} "
                    "does not have",
                    field=f"door_policies.{key}",
                )
        return {
            door_key(site.id, door.id): DoorEntry(
                site,
                door.id,
                door_specs.get(door_key(site.id, door.id)),
                apb,
                tuple(sorted(partners.get(door.id, ()))),
            )
            for door in site.site.doors
        }

    def _install_doors(self, site_id: str, doors: dict[str, DoorEntry]) -> None:
        stale = [k for k, v in self.doors.items() if v.site_id == site_id]
        for key in stale:
            del self.doors[key]
        for key, entry in doors.items():
            self.doors[key] = entry
        self._reindex_plain_doors()

    def _reindex_plain_doors(self) -> None:
        counts: dict[str, int] = {}
        canonical = {k: v for k, v in self.doors.items() if "/" in k}
        for entry in canonical.values():
            counts[entry.door_id] = counts.get(entry.door_id, 0) + 1
        for key in [k for k in self.doors if "/" not in k]:
            if counts.get(key) != 1:
                del self.doors[key]
        for entry in canonical.values():
            if counts[entry.door_id] == 1:
                self.doors[entry.door_id] = entry
        self.readers = {
            reader: (door_key(site.id, door), exit_side)
            for site in self.sites.values()
            for reader, (door, exit_side) in site.readers.items()
        }

    def put_site(self, site: Site) -> None:
        """Compile (or recompile) a site, its doors and the levels that belong to it."""
        entry = SiteEntry(site)
        doors = self._compile_doors(entry, self.door_specs, self.apb_specs, self.interlock_specs)
        levels = {
            spec.id: LevelEntry(spec, entry)
            for spec in self.level_specs.values()
            if spec.site_id == entry.id
        }
        self.sites[entry.id] = entry
        self._install_doors(entry.id, doors)
        self.levels.update(levels)
        self.version += 1

    def put_door_policy(self, spec: DoorPolicySpec) -> None:
        """Set one door's policy; recompiles that site's doors."""
        site = self._site(spec.site_id, f"door policy of {spec.door_id!r}")
        specs = {**self.door_specs, door_key(spec.site_id, spec.door_id): spec}
        doors = self._compile_doors(site, specs, self.apb_specs, self.interlock_specs)
        self.door_specs = specs
        self._install_doors(site.id, doors)
        self.version += 1

    def put_anti_passback(
        self, spec: AntiPassbackSpec | None, *, site_id: str, zone_id: str
    ) -> None:
        """Set (or with None remove) anti-passback on entering a zone."""
        site = self._site(site_id, f"anti-passback of {zone_id!r}")
        specs = dict(self.apb_specs)
        if spec is None:
            specs.pop(f"{site_id}/{zone_id}", None)
        else:
            specs[f"{site_id}/{zone_id}"] = spec
        doors = self._compile_doors(site, self.door_specs, specs, self.interlock_specs)
        self.apb_specs = specs
        self._install_doors(site.id, doors)
        self.version += 1

    def put_interlock(self, spec: InterlockSpec | None, *, site_id: str, group_id: str) -> None:
        """Set (or with None remove) an interlock group."""
        site = self._site(site_id, f"interlock {group_id!r}")
        specs = dict(self.interlock_specs)
        if spec is None:
            specs.pop(f"{site_id}/{group_id}", None)
        else:
            specs[f"{site_id}/{group_id}"] = spec
        doors = self._compile_doors(site, self.door_specs, self.apb_specs, specs)
        self.interlock_specs = specs
        self._install_doors(site.id, doors)
        self.version += 1

    # --- levels, people, credentials --------------------------------------------------------

    def compile_level(self, spec: LevelSpec) -> LevelEntry:
        """Validate and compile a level without installing it."""
        return LevelEntry(spec, self._site(spec.site_id, f"access level {spec.id!r}"))

    def put_level(self, spec: LevelSpec) -> None:
        """Install or replace one access level."""
        entry = self.compile_level(spec)
        self.level_specs[spec.id] = spec
        self.levels[spec.id] = entry
        self.version += 1

    def drop_level(self, level_id: str) -> None:
        """Remove an access level (people who held it lose it at once)."""
        self.level_specs.pop(level_id, None)
        self.levels.pop(level_id, None)
        self.version += 1

    def put_person(self, spec: PersonSpec) -> None:
        """Install or replace one cardholder."""
        self.people[spec.id] = PersonEntry(spec)
        self.version += 1

    def drop_person(self, person_id: str) -> None:
        """Remove a cardholder and their credentials."""
        for cred in [c for c in self.creds.values() if c.person_id == person_id]:
            self._unindex(cred)
            del self.creds[cred.id]
        self.people.pop(person_id, None)
        self.version += 1

    def _unindex(self, cred: CredEntry) -> None:
        for index, value in (
            (self.by_card, cred.card_hash),
            (self.by_pin, cred.pin_hash if cred.kind is CredentialKind.PIN else None),
            (self.by_mobile, cred.mobile_hash),
        ):
            if value is not None and index.get(value) is cred:
                del index[value]

    def put_credential(self, spec: CredentialSpec) -> None:
        """Install or replace one credential (a revoked one stays known, so it reads 'revoked')."""
        verify_credential(spec)
        entry = CredEntry(spec)
        old = self.creds.get(spec.id)
        # Index first, then unindex the old entry: a concurrent read sees old or new, never none.
        if entry.card_hash is not None:
            self.by_card[entry.card_hash] = entry
        if entry.kind is CredentialKind.PIN and entry.pin_hash is not None:
            self.by_pin[entry.pin_hash] = entry
        if entry.mobile_hash is not None:
            self.by_mobile[entry.mobile_hash] = entry
        self.creds[spec.id] = entry
        if old is not None:
            self._unindex(old)
        self.version += 1

    def drop_credential(self, credential_id: str) -> None:
        """Forget a credential entirely (it then reads as unknown)."""
        old = self.creds.pop(credential_id, None)
        if old is not None:
            self._unindex(old)
        self.version += 1

    def load(self, sites: Iterable[Site], policy: Policy) -> None:
        """Compile everything from scratch into this (empty) snapshot."""
        for site in sites:
            self.sites[site.site.id] = SiteEntry(site)
        self.door_specs = {door_key(s.site_id, s.door_id): s for s in policy.door_policies}
        self.apb_specs = {f"{s.site_id}/{s.zone_id}": s for s in policy.anti_passback}
        self.interlock_specs = {f"{s.site_id}/{s.id}": s for s in policy.interlocks}
        for spec in policy.door_policies:
            self._site(spec.site_id, f"door policy of {spec.door_id!r}")
        for entry in self.sites.values():
            doors = self._compile_doors(
                entry, self.door_specs, self.apb_specs, self.interlock_specs
            )
            self.doors.update(doors)
        self._reindex_plain_doors()
        for level in policy.levels:
            self.level_specs[level.id] = level
            self.levels[level.id] = self.compile_level(level)
        for person in policy.people:
            self.people[person.id] = PersonEntry(person)
        for cred in policy.credentials:
            self.put_credential(cred)
        self.version += 1
