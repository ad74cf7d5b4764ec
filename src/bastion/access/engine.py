"""The access decision engine: in-memory decisions against the compiled snapshot.

``decide`` never touches the database and never waits: it reads the snapshot and the
live rule state (door open/closed, where people are for anti-passback, pending
two-person and escort reads, first-person-in, threat level, lockdown), returns a
:class:`~bastion.core.ports.Verdict`, and appends the decision to an in-memory queue
that a task drains into the ledger (see :mod:`bastion.access.runtime`).

Rules run in one fixed order, and the first that fails gives the reason code:
door known → lockdown → door mode → credential (known, revoked, active, expired) →
person active → PIN → levels (cover the door, in schedule, honoured at this threat
level, background check, training) → first-person-in → interlock → anti-passback →
escort → two-person. Lockdown therefore wins over everything except egress
(:meth:`AccessEngine.request_exit`). :meth:`AccessEngine.explain` walks the same code
with a trace and changes nothing.
"""

from __future__ import annotations

import hmac
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bastion.access.reasons import GRANTING, PENDING, TEXT, Reason
from bastion.access.snapshot import (
    AntiPassbackMode,
    AntiPassbackSpec,
    CredentialKind,
    CredentialSpec,
    CredEntry,
    DoorEntry,
    DoorMode,
    DoorPolicySpec,
    InterlockSpec,
    LevelSpec,
    PersonEntry,
    PersonSpec,
    Policy,
    Snapshot,
)
from bastion.core.clock import SYSTEM_CLOCK, Clock
from bastion.core.context import Context
from bastion.core.errors import ConfigError, NotFound
from bastion.core.events import (
    EVENT_ACCESS_DECISION,
    AccessDecisionPayload,
    Event,
    make_event,
)
from bastion.core.ports import Presentation, PresentationKind, Verdict
from bastion.site.lockdown import LockdownRegistry
from bastion.site.schemas import Site

_LOGGER = logging.getLogger(__name__)
VERDICT_CACHE_LIMIT = 200_000
QUEUE_LIMIT = 100_000
"""Decisions kept while nobody drains the queue (offline, tests); the oldest go first."""

_BLOCKED_MODES = {
    DoorMode.LOCKDOWN: Reason.LOCKDOWN,
    DoorMode.LOCKED: Reason.DOOR_LOCKED,
    DoorMode.EGRESS_ONLY: Reason.EGRESS_ONLY,
}
_CARD_MODES = frozenset({DoorMode.CARD_ONLY, DoorMode.CARD_AND_PIN})


class SecondFactor(Protocol):
    """A further check some doors make after the card and levels pass (e.g. a face match)."""

    def check(self, door_key: str, person_id: str, t: float) -> tuple[Reason, str] | None:
        """Return None to let the decision go on, or the refusal reason and its detail."""
        ...


@dataclass(frozen=True, slots=True)
class Step:
    """One rule in a decision's reason chain."""

    check: str
    ok: bool | None
    detail: str

    def describe(self) -> str:
        """Return one line: mark, rule, detail."""
        mark = {True: "pass", False: "FAIL", None: "info"}[self.ok]
        return f"[{mark}] {self.check}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Explanation:
    """The verdict a presentation would get now, and every rule that led to it."""

    verdict: Verdict
    steps: tuple[Step, ...]
    at: datetime

    def lines(self) -> list[str]:
        """Return the chain as printable lines, verdict last."""
        verdict = self.verdict
        outcome = "GRANTED" if verdict.granted else ("PENDING" if verdict.pending else "DENIED")
        return [
            *(s.describe() for s in self.steps),
            f"=> {outcome}: {verdict.reason} ({verdict.detail})",
        ]


@dataclass(frozen=True, slots=True)
class Holder:
    """Someone who can open a door: person, role, kind and the levels that let them."""

    person_id: str
    role: str
    kind: str
    levels: tuple[str, ...]
    credentials: tuple[str, ...]


class _Outcome:
    """The result of evaluating one presentation, before its effects are applied."""

    __slots__ = ("cred", "door", "effect", "exit_side", "person", "reason", "soft", "target")

    def __init__(
        self,
        reason: Reason,
        door: DoorEntry | None = None,
        cred: CredEntry | None = None,
        person: PersonEntry | None = None,
    ) -> None:
        self.reason = reason
        self.door = door
        self.cred = cred
        self.person = person
        self.effect = 0
        self.exit_side = False
        self.target = ""
        self.soft = False


# Effects of a decision on the live rule state.
_FX_NONE = 0
_FX_TWO_SET = 1
_FX_TWO_DONE = 2
_FX_ESCORTED = 3


def _epoch(when: datetime) -> float:
    if when.tzinfo is None:
        raise ConfigError("decision time must be timezone-aware")
    return when.timestamp()


class AccessEngine:
    """Decide access in memory from a compiled, versioned snapshot; implements AccessDecider.

    ``decide`` must run in one thread (the event loop); snapshot changes may come
    from other threads and are applied entry by entry, so a decision sees each entry
    either before or after a change, never half-changed.
    """

    def __init__(
        self, *, clock: Clock = SYSTEM_CLOCK, lockdowns: LockdownRegistry | None = None
    ) -> None:
        self.clock = clock
        self.lockdowns = lockdowns if lockdowns is not None else LockdownRegistry()
        self.snapshot = Snapshot()
        self._open: set[str] = set()
        self._where: dict[str, tuple[str, float]] = {}
        self._two: dict[str, tuple[str, str, float, str | None, Presentation]] = {}
        self._hosts: dict[str, list[float]] = {}
        self._first_in: dict[str, int] = {}
        self._threat: dict[str, int] = {}
        self._queue: deque[tuple[Presentation, Verdict, datetime, str | None, str]] = deque(
            maxlen=QUEUE_LIMIT
        )
        self._notify: Callable[[], object] | None = None
        self._signalled = False
        self.decisions = 0
        self.stopper: Callable[[], Awaitable[None]] | None = None
        self._verdicts: dict[tuple[Any, ...], Verdict] = {}
        self._verdicts_version = -1
        self.second_factor: SecondFactor | None = None

    # --- loading and incremental changes ----------------------------------------------------

    @property
    def version(self) -> int:
        """Return the snapshot version (bumped by every change)."""
        return self.snapshot.version

    def load(self, sites: Iterable[Site], policy: Policy) -> None:
        """Compile ``sites`` and ``policy`` into a fresh snapshot and swap it in atomically."""
        fresh = Snapshot()
        fresh.version = self.snapshot.version
        fresh.load(sites, policy)
        for state in policy.site_states:
            if state.site_id in fresh.sites:
                self._threat[state.site_id] = state.threat_level
        self.snapshot = fresh
        for sid, compiled in fresh.sites.items():
            self.lockdowns.put_graph(sid, compiled.graph)
            self._sync_mode_locked(sid)
        for state in policy.site_states:
            if state.site_id in fresh.sites:
                self.lockdowns.set_zones(state.site_id, state.lockdown_zones)

    def put_site(self, site: Site) -> None:
        """Compile (or recompile) one site's doors, schedules and levels."""
        self.snapshot.put_site(site)
        self.lockdowns.put_graph(site.site.id, self.snapshot.sites[site.site.id].graph)
        self._sync_mode_locked(site.site.id)

    def put_person(self, spec: PersonSpec) -> None:
        """Install or replace one cardholder (suspension takes effect at once)."""
        self.snapshot.put_person(spec)

    def drop_person(self, person_id: str) -> None:
        """Remove a cardholder and their credentials."""
        self.snapshot.drop_person(person_id)
        self._where.pop(person_id, None)

    def put_credential(self, spec: CredentialSpec) -> None:
        """Install or replace one credential (revocation takes effect at once)."""
        self.snapshot.put_credential(spec)

    def revoke_credential(self, credential_id: str) -> None:
        """Mark a credential revoked in the snapshot now."""
        old = self.snapshot.creds.get(credential_id)
        if old is None:
            raise NotFound(f"no credential {credential_id!r} in the access snapshot")
        self.snapshot.put_credential(
            CredentialSpec(
                id=old.id,
                person_id=old.person_id,
                kind=old.kind,
                card_hash=old.card_hash,
                pin_hash=old.pin_hash,
                mobile_hash=old.mobile_hash,
                activates_at=old.activates,
                expires_at=old.expires,
                revoked=True,
            )
        )

    def drop_credential(self, credential_id: str) -> None:
        """Forget a credential."""
        self.snapshot.drop_credential(credential_id)

    def check_level(self, spec: LevelSpec) -> None:
        """Raise ConfigError when ``spec`` would not compile (missing schedule, door, zone)."""
        self.snapshot.compile_level(spec)

    def put_level(self, spec: LevelSpec) -> None:
        """Install or replace one access level."""
        self.snapshot.put_level(spec)

    def drop_level(self, level_id: str) -> None:
        """Remove one access level."""
        self.snapshot.drop_level(level_id)

    def put_door_policy(self, spec: DoorPolicySpec) -> None:
        """Set a door's mode and rules."""
        self.snapshot.put_door_policy(spec)
        self._sync_mode_locked(spec.site_id)

    def _sync_mode_locked(self, site_id: str) -> None:
        """Tell the lockdown registry which doors of a site are in lockdown mode by policy."""
        self.lockdowns.set_mode_locked(
            site_id,
            (
                d.door_id
                for d in self.snapshot.doors.values()
                if d.site_id == site_id and d.mode is DoorMode.LOCKDOWN
            ),
        )

    def put_anti_passback(
        self, spec: AntiPassbackSpec | None, *, site_id: str, zone_id: str
    ) -> None:
        """Set or remove anti-passback on entering a zone."""
        self.snapshot.put_anti_passback(spec, site_id=site_id, zone_id=zone_id)

    def put_interlock(self, spec: InterlockSpec | None, *, site_id: str, group_id: str) -> None:
        """Set or remove an interlock group."""
        self.snapshot.put_interlock(spec, site_id=site_id, group_id=group_id)

    # --- site-wide state --------------------------------------------------------------------

    def _site_or_error(self, site_id: str) -> None:
        if site_id not in self.snapshot.sites:
            raise NotFound(f"site {site_id!r} is not loaded in the access engine")

    def set_threat_level(self, site_id: str, level: int) -> None:
        """Set the site-wide threat level (0 normal … 10)."""
        self._site_or_error(site_id)
        if not 0 <= level <= 10:
            raise ConfigError("a threat level is 0–10", field="level")
        self._threat[site_id] = level
        self.snapshot.version += 1

    def threat_level(self, site_id: str) -> int:
        """Return the site's current threat level."""
        return self._threat.get(site_id, 0)

    def lockdown(
        self,
        site_id: str,
        zone_id: str,
        *,
        active: bool = True,
        reason: str = "",
        by: str | None = None,
    ) -> list[str]:
        """Lock down (or release) a zone and its adjacent zones; return the doors affected."""
        self._site_or_error(site_id)
        site = self.snapshot.sites[site_id]
        try:
            doors = [d.id for d in site.graph.lockdown_doors(zone_id)]
        except KeyError:
            raise NotFound(f"site {site_id!r} has no zone {zone_id!r}") from None
        if active:
            self.lockdowns.start(site_id, zone_id, reason=reason, at=self.clock.now(), by=by)
        else:
            self.lockdowns.lift(site_id, zone_id)
        self.snapshot.version += 1
        return doors

    def lockdown_zones(self, site_id: str) -> frozenset[str]:
        """Return the zones locked down at a site."""
        return self.lockdowns.zones(site_id)

    def door_locked_down(self, door_id: str) -> bool:
        """Return True when the door is locked down (by zone lockdown or its mode)."""
        door = self._door(door_id)
        return door.key in self.lockdowns.door_keys() or door.mode is DoorMode.LOCKDOWN

    def forgive(self, person_id: str | None = None, *, site_id: str | None = None) -> int:
        """Forget where a person (or everyone, optionally at one site) is; return how many."""
        if person_id is not None:
            return 1 if self._where.pop(person_id, None) is not None else 0
        prefix = f"{site_id}/" if site_id else ""
        gone = [p for p, (zone, _) in self._where.items() if zone.startswith(prefix)]
        for person in gone:
            del self._where[person]
        return len(gone)

    def location(self, person_id: str) -> str | None:
        """Return the ``site/zone`` anti-passback believes a person is in."""
        where = self._where.get(person_id)
        return where[0] if where else None

    def door_state(self, door_id: str, state: str) -> None:
        """Tell the engine a door opened (open, forced, held) or closed (closed, locked)."""
        door = self.snapshot.doors.get(door_id)
        if door is None:
            return
        if state in ("open", "forced", "held"):
            self._open.add(door.key)
        elif state in ("closed", "locked"):
            self._open.discard(door.key)

    def is_open(self, door_id: str) -> bool:
        """Return True when the engine believes the door is open."""
        door = self._door(door_id)
        return door.key in self._open

    def scheduled_unlock(self, door_id: str, at: datetime | None = None) -> bool:
        """Return True when an unlocked-by-schedule door should be unlocked now."""
        door = self._door(door_id)
        t = _epoch(at or self.clock.now())
        if door.mode is not DoorMode.UNLOCKED_BY_SCHEDULE or door.unlock is None:
            return False
        if door.key in self.lockdowns.door_keys() or not door.unlock.active(t):
            return False
        return not door.first_person_in or self._first_in.get(door.key) == door.unlock.local_day(t)

    def _door(self, door_id: str) -> DoorEntry:
        door = self.snapshot.doors.get(door_id)
        if door is None:
            raise NotFound(f"unknown door {door_id!r}")
        return door

    # --- decisions ----------------------------------------------------------------------------

    def decide(self, presentation: Presentation) -> Verdict:
        """Decide at once from the snapshot; queue the decision event. Never blocks."""
        when = presentation.time
        if when is None:
            when = self.clock.now()
        t = when.timestamp()
        out = self._evaluate(presentation, t, None)
        reason = out.reason
        granted = reason in GRANTING
        person = out.person
        cred = out.cred
        door = out.door
        version = self.snapshot.version
        if version != self._verdicts_version or len(self._verdicts) > VERDICT_CACHE_LIMIT:
            self._verdicts = {}
            self._verdicts_version = version
        # Verdicts are immutable and few per cardholder: reuse them (building one costs ~1 µs).
        key = (reason, person, cred, door)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = Verdict(
                granted,
                reason,
                TEXT[reason],
                person.id if person is not None else None,
                cred.id if cred is not None else None,
                door.strike_time_s if granted and door is not None else 0.0,
                reason in PENDING,
                version,
            )
        if out.effect or granted:
            self._apply(out, presentation, t, when)
        self.decisions += 1
        self._enqueue(presentation, verdict, when, door.site_id if door else None, "")
        return verdict

    def request_exit(
        self, door_id: str, *, at: datetime | None = None, context: Context | None = None
    ) -> Verdict:
        """Grant egress (request-to-exit); lockdown never blocks it. Unknown doors are denied."""
        when = at or self.clock.now()
        door = self.snapshot.doors.get(door_id)
        reason = Reason.EGRESS if door is not None else Reason.UNKNOWN_DOOR
        verdict = Verdict(
            granted=door is not None,
            reason=reason,
            detail=TEXT[reason],
            strike_time_s=door.strike_time_s if door is not None else 0.0,
            snapshot_version=self.snapshot.version,
        )
        presentation = Presentation(
            door_id=door_id,
            reader_id=None,
            kind=PresentationKind.CARD,
            time=when,
            context=context or Context(actor="system"),
        )
        self._enqueue(presentation, verdict, when, door.site_id if door else None, "")
        return verdict

    def explain(self, presentation: Presentation) -> Explanation:
        """Return the verdict ``presentation`` would get and its reason chain; change nothing."""
        when = presentation.time or self.clock.now()
        steps: list[Step] = []
        out = self._evaluate(presentation, _epoch(when), steps)
        reason = out.reason
        verdict = Verdict(
            granted=reason in GRANTING,
            reason=reason,
            detail=TEXT[reason],
            person_id=out.person.id if out.person else None,
            credential_id=out.cred.id if out.cred else None,
            strike_time_s=out.door.strike_time_s if out.door and reason in GRANTING else 0.0,
            pending=reason in PENDING,
            snapshot_version=self.snapshot.version,
        )
        return Explanation(verdict=verdict, steps=tuple(steps), at=when.astimezone(UTC))

    def presentation_for(
        self, credential_id: str, door_id: str, *, at: datetime | None = None
    ) -> Presentation:
        """Build the presentation a credential makes (with its own PIN) for :meth:`explain`."""
        cred = self.snapshot.creds.get(credential_id)
        if cred is None:
            raise NotFound(f"no credential {credential_id!r} in the access snapshot")
        kind = {
            CredentialKind.CARD: PresentationKind.CARD,
            CredentialKind.PIN: PresentationKind.PIN,
            CredentialKind.CARD_AND_PIN: PresentationKind.CARD_AND_PIN,
            CredentialKind.MOBILE: PresentationKind.MOBILE,
        }[cred.kind]
        return Presentation(
            door_id=door_id,
            reader_id=None,
            kind=kind,
            card_hash=cred.card_hash,
            pin_hash=cred.pin_hash,
            mobile_token_hash=cred.mobile_hash,
            time=at,
            context=Context(actor="system:explain"),
        )

    def _evaluate(self, p: Presentation, t: float, trace: list[Step] | None) -> _Outcome:
        snap = self.snapshot
        door = snap.doors.get(p.door_id)
        if door is None:
            if trace is not None:
                trace.append(Step("door", False, f"{p.door_id!r} is not a door of a loaded site"))
            return _Outcome(Reason.UNKNOWN_DOOR)
        if trace is not None:
            trace.append(
                Step("door", True, f"{door.key} ({door.from_zone} → {door.to_zone}), {door.mode}")
            )
        if door.key in self.lockdowns.door_keys() or door.mode is DoorMode.LOCKDOWN:
            if trace is not None:
                why = "mode lockdown" if door.mode is DoorMode.LOCKDOWN else "zone lockdown"
                trace.append(Step("lockdown", False, f"door is locked down ({why})"))
            return _Outcome(Reason.LOCKDOWN, door)
        blocked = _BLOCKED_MODES.get(door.mode)
        if blocked is not None:
            if trace is not None:
                trace.append(Step("mode", False, f"door mode {door.mode} refuses credentials"))
            return _Outcome(blocked, door)
        kind = p.kind
        if kind is PresentationKind.PIN and door.mode in _CARD_MODES:
            if trace is not None:
                trace.append(Step("mode", False, f"{door.mode} refuses a PIN alone"))
            return _Outcome(Reason.CARD_REQUIRED, door)
        if trace is not None:
            trace.append(Step("lockdown", True, "not locked down"))
        if kind is PresentationKind.PIN:
            cred = snap.by_pin.get(p.pin_hash) if p.pin_hash else None
        elif kind is PresentationKind.MOBILE:
            cred = snap.by_mobile.get(p.mobile_token_hash) if p.mobile_token_hash else None
        else:
            cred = snap.by_card.get(p.card_hash) if p.card_hash else None
        if cred is None:
            if trace is not None:
                trace.append(Step("credential", False, f"no enrolled {kind} credential matches"))
            return _Outcome(Reason.UNKNOWN_CREDENTIAL, door)
        if cred.revoked:
            if trace is not None:
                trace.append(Step("credential", False, f"{cred.id} ({cred.kind}) is revoked"))
            return _Outcome(Reason.REVOKED, door, cred)
        if cred.activates is not None and t < cred.activates:
            if trace is not None:
                trace.append(Step("credential", False, f"{cred.id} activates later"))
            return _Outcome(Reason.NOT_YET_ACTIVE, door, cred)
        if cred.expires is not None and t >= cred.expires:
            if trace is not None:
                trace.append(Step("credential", False, f"{cred.id} has expired"))
            return _Outcome(Reason.EXPIRED, door, cred)
        person = snap.people.get(cred.person_id)
        if person is None:
            if trace is not None:
                trace.append(Step("credential", False, f"{cred.id} belongs to no known person"))
            return _Outcome(Reason.UNKNOWN_CREDENTIAL, door, cred)
        if trace is not None:
            trace.append(Step("credential", True, f"{cred.id} ({cred.kind}) valid now"))
        if not person.active:
            if trace is not None:
                trace.append(Step("person", False, f"{person.id} is {person.status}"))
            return _Outcome(Reason.PERSON_SUSPENDED, door, cred, person)
        if trace is not None:
            trace.append(Step("person", True, f"{person.id}: {person.kind}, role {person.role!r}"))
        if kind is not PresentationKind.PIN and (
            door.mode is DoorMode.CARD_AND_PIN or cred.kind is CredentialKind.CARD_AND_PIN
        ):
            if p.pin_hash is None:
                if trace is not None:
                    trace.append(Step("pin", False, "a PIN is needed and none was entered"))
                return _Outcome(Reason.PIN_REQUIRED, door, cred, person)
            if cred.pin_hash is None or not hmac.compare_digest(cred.pin_hash, p.pin_hash):
                if trace is not None:
                    trace.append(Step("pin", False, "the PIN does not match"))
                return _Outcome(Reason.PIN_INVALID, door, cred, person)
            if trace is not None:
                trace.append(Step("pin", True, "PIN matches"))
        # Levels: rank each covering level by how far it gets; the best one decides.
        levels = snap.levels
        key = door.key
        best = -1
        threat = self._threat.get(door.site_id, 0)
        for level_id in person.levels:
            level = levels.get(level_id)
            if level is None or key not in level.doors:
                continue
            if level.schedule is not None and not level.schedule.active(t):
                rank = 0
            elif threat > level.max_threat:
                rank = 1
            elif level.background and person.background != "cleared":
                rank = 2
            elif level.training and not all(
                (exp := person.training.get(c, 0.0)) is None or exp > t for c in level.training
            ):
                rank = 3
            else:
                rank = 4
            if trace is not None:
                trace.append(Step(f"level {level_id}", rank == 4, _LEVEL_TEXT[rank]))
            if rank > best:
                best = rank
                if rank == 4 and trace is None:
                    break
        if best < 4:
            reason = Reason.NO_LEVEL_FOR_DOOR if best < 0 else _LEVEL_REASONS[best]
            if trace is not None and best < 0:
                trace.append(Step("levels", False, f"none of {list(person.levels)} covers {key}"))
            return _Outcome(reason, door, cred, person)
        factor = self.second_factor
        if factor is not None:
            refused = factor.check(key, person.id, t)
            if refused is not None:
                if trace is not None:
                    trace.append(Step("second factor", False, refused[1]))
                return _Outcome(refused[0], door, cred, person)
        out = _Outcome(Reason.GRANTED, door, cred, person)
        if door.first_person_in and door.unlock is not None and door.unlock.active(t):
            day = door.unlock.local_day(t)
            if self._first_in.get(key) != day and person.role not in door.supervisors:
                if trace is not None:
                    trace.append(Step("first-person-in", False, "no supervisor has badged today"))
                out.reason = Reason.FIRST_PERSON_PENDING
                return out
            if trace is not None:
                trace.append(Step("first-person-in", True, "supervisor present or badging"))
        if door.interlock:
            opened = self._open
            for other in door.interlock:
                if other in opened:
                    if trace is not None:
                        trace.append(Step("interlock", False, f"{other} is open"))
                    out.reason = Reason.INTERLOCK_OPEN
                    return out
            if trace is not None:
                trace.append(Step("interlock", True, "every other interlocked door is closed"))
        exit_side = False
        if p.reader_id is not None:
            reader = snap.readers.get(p.reader_id)
            exit_side = reader is not None and reader[1]
        out.exit_side = exit_side
        apb = door.apb_out if exit_side else door.apb_in
        out.target = door.from_zone if exit_side else door.to_zone
        if apb is not None:
            where = self._where.get(person.id)
            if where is not None and where[0] == out.target:
                mode = apb.mode
                if mode is AntiPassbackMode.HARD or (
                    mode is AntiPassbackMode.TIMED and t - where[1] < apb.timeout_s
                ):
                    if trace is not None:
                        trace.append(Step("anti-passback", False, f"already in {out.target}"))
                    out.reason = Reason.ANTI_PASSBACK
                    return out
                if mode is AntiPassbackMode.SOFT:
                    out.soft = True
            if trace is not None:
                trace.append(
                    Step(
                        "anti-passback",
                        not out.soft,
                        f"soft violation into {out.target}, flagged"
                        if out.soft
                        else f"{apb.mode} on {out.target}: no violation",
                    )
                )
        if person.kind == "visitor" and door.escort_required:
            host = self._hosts.get(key)
            if host is None or t - host[0] > door.escort_window_s:
                if trace is not None:
                    trace.append(Step("escort", False, "no host badge within the window"))
                out.reason = Reason.ESCORT_REQUIRED
                return out
            if host[1] >= door.escort_ratio:
                if trace is not None:
                    trace.append(Step("escort", False, f"host already escorts {int(host[1])}"))
                out.reason = Reason.ESCORT_RATIO_EXCEEDED
                return out
            if trace is not None:
                trace.append(Step("escort", True, "escorted by a host badge"))
            out.effect = _FX_ESCORTED
        if door.two_person:
            first = self._two.get(key)
            if first is None:
                if trace is not None:
                    trace.append(Step("two-person", False, "first card: waiting for a second"))
                out.reason = Reason.TWO_PERSON_PENDING
                out.effect = _FX_TWO_SET
                return out
            if t - first[2] > door.two_person_window_s:
                if trace is not None:
                    trace.append(Step("two-person", False, "the first card timed out"))
                out.reason = Reason.TWO_PERSON_TIMEOUT
                out.effect = _FX_TWO_SET
                return out
            if first[0] == person.id:
                if trace is not None:
                    trace.append(Step("two-person", False, "the same person badged again"))
                out.reason = Reason.TWO_PERSON_PENDING
                out.effect = _FX_TWO_SET
                return out
            if door.two_person_distinct_roles and first[1] == person.role:
                if trace is not None:
                    trace.append(Step("two-person", False, "the second card needs another role"))
                out.reason = Reason.TWO_PERSON_PENDING
                out.effect = _FX_NONE
                return out
            if trace is not None:
                trace.append(Step("two-person", True, f"second card, with {first[0]}"))
            out.effect = _FX_TWO_DONE
        if out.soft:
            out.reason = Reason.ANTI_PASSBACK_SOFT
        return out

    def _apply(self, out: _Outcome, p: Presentation, t: float, when: datetime) -> None:
        door = out.door
        person = out.person
        if door is None or person is None:
            return
        effect = out.effect
        if effect == _FX_TWO_SET:
            self._two[door.key] = (person.id, person.role, t, out.cred.id if out.cred else None, p)
            return
        if out.reason not in GRANTING:
            return
        if effect == _FX_TWO_DONE:
            first = self._two.pop(door.key)
            partner = self.snapshot.people.get(first[0])
            if partner is not None:
                self._granted(partner, door, t, out.target)
                verdict = Verdict(
                    granted=True,
                    reason=Reason.GRANTED,
                    detail="two-person rule completed by a second card",
                    person_id=partner.id,
                    credential_id=first[3],
                    strike_time_s=door.strike_time_s,
                    snapshot_version=self.snapshot.version,
                )
                self._enqueue(first[4], verdict, when, door.site_id, "")
        elif effect == _FX_ESCORTED:
            self._hosts[door.key][1] += 1
        self._granted(person, door, t, out.target)

    def _granted(self, person: PersonEntry, door: DoorEntry, t: float, target: str) -> None:
        self._where[person.id] = (target, t)
        if person.kind != "visitor":
            self._hosts[door.key] = [t, 0]
        if (
            door.first_person_in
            and door.unlock is not None
            and person.role in door.supervisors
            and door.unlock.active(t)
        ):
            self._first_in[door.key] = door.unlock.local_day(t)

    async def stop(self) -> None:
        """Stop the runtime driving this engine (decision pump, subscriptions), if any."""
        stopper, self.stopper = self.stopper, None
        if stopper is not None:
            await stopper()

    # --- the decision queue -----------------------------------------------------------------

    def _enqueue(
        self, p: Presentation, verdict: Verdict, when: datetime, site_id: str | None, ref: str
    ) -> None:
        self._queue.append((p, verdict, when, site_id, ref))
        notify = self._notify
        if notify is not None and not self._signalled:
            self._signalled = True
            notify()

    def set_notifier(self, notify: Callable[[], object] | None) -> None:
        """Call ``notify`` (thread-safe) when decisions wait in the queue; None stops it."""
        self._notify = notify
        self._signalled = False
        if notify is not None and self._queue:
            self._signalled = True
            notify()

    def pending_decisions(self) -> int:
        """Return how many decisions wait to be written to the ledger."""
        return len(self._queue)

    def take_decision_events(self, limit: int = 1000) -> list[Event[Any]]:
        """Pop up to ``limit`` queued decisions as ledger events (oldest first)."""
        self._signalled = False
        events: list[Event[Any]] = []
        queue = self._queue
        while queue and len(events) < limit:
            p, verdict, when, site_id, _ = queue.popleft()
            ref = verdict.credential_id
            if ref is None:
                digest = p.card_hash or p.mobile_token_hash or p.pin_hash
                ref = f"unknown:{digest[:16]}" if digest else None
            events.append(
                make_event(
                    EVENT_ACCESS_DECISION,
                    AccessDecisionPayload(
                        door_id=p.door_id,
                        reader_id=p.reader_id,
                        subject=verdict.person_id,
                        credential_ref=ref,
                        granted=verdict.granted,
                        reason=verdict.reason,
                        detail=verdict.detail,
                    ),
                    context=p.context.child(),
                    time=when,
                    site=site_id,
                )
            )
        return events

    # --- audit queries ----------------------------------------------------------------------

    def doors_for(self, door_or_zone: str, *, site_id: str | None = None) -> list[str]:
        """Return door keys for a door id, or for every door leading into a zone id."""
        snap = self.snapshot
        door = snap.doors.get(door_or_zone if site_id is None else f"{site_id}/{door_or_zone}")
        if door is not None:
            return [door.key]
        found = [
            d.key
            for k, d in snap.doors.items()
            if "/" in k
            and (site_id is None or d.site_id == site_id)
            and d.to_zone.split("/", 1)[1] == door_or_zone
        ]
        if not found:
            raise NotFound(f"no door or zone {door_or_zone!r} in the loaded sites")
        return sorted(found)

    def who_can(self, door_id: str, *, at: datetime | None = None) -> list[Holder]:
        """Return the active people with a valid credential and a level covering the door.

        With ``at``, only those whose level is in schedule and honoured at the current
        threat level then.
        """
        door = self._door(door_id)
        snap = self.snapshot
        t = _epoch(at) if at is not None else None
        threat = self._threat.get(door.site_id, 0)
        creds: dict[str, list[str]] = {}
        for cred in snap.creds.values():
            if cred.revoked:
                continue
            if t is not None and (
                (cred.activates is not None and t < cred.activates)
                or (cred.expires is not None and t >= cred.expires)
            ):
                continue
            creds.setdefault(cred.person_id, []).append(cred.id)
        holders: list[Holder] = []
        for person in snap.people.values():
            if not person.active or person.id not in creds:
                continue
            via: list[str] = []
            for level_id in person.levels:
                level = snap.levels.get(level_id)
                if level is None or door.key not in level.doors:
                    continue
                if t is not None and (
                    (level.schedule is not None and not level.schedule.active(t))
                    or threat > level.max_threat
                ):
                    continue
                via.append(level_id)
            if via:
                holders.append(
                    Holder(person.id, person.role, person.kind, tuple(via), tuple(creds[person.id]))
                )
        return sorted(holders, key=lambda h: h.person_id)


_LEVEL_REASONS = (
    Reason.OUTSIDE_SCHEDULE,
    Reason.THREAT_LEVEL,
    Reason.BACKGROUND_CHECK_PENDING,
    Reason.TRAINING_REQUIRED,
)
_LEVEL_TEXT = (
    "outside its schedule",
    "not honoured at the current threat level",
    "needs a cleared background check",
    "needs a current training record",
    "covers the door, in schedule, honoured",
)
