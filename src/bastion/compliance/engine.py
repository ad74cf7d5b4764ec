"""Run a state's rules against a site and report one finding per rule."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from bastion.compliance.checks import KINDS, AttestParams, Outcome, Status, Subject, run_attestation
from bastion.compliance.packs import AREAS, Pack, Rule
from bastion.compliance.profile import Profile
from bastion.compliance.records import Records
from bastion.site.schemas import Site

FACILITY_LICENSE = {
    "dispensary": "retail",
    "cultivation": "cultivation",
    "manufacturing": "manufacturing",
}


@dataclass(frozen=True)
class Finding:
    """The result of one rule."""

    rule: str
    citation: str
    status: Status
    confidence: str
    title: str
    area: str
    severity: str
    kind: str
    evidence: list[str] = field(default_factory=list)
    override_reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the CLI/API shape."""
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """Every finding of one run."""

    state: str
    site_id: str
    site_name: str
    license: str | None
    at: datetime
    findings: list[Finding]
    problems: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Return the number of findings per status."""
        found = Counter(f.status for f in self.findings)
        return {s: found.get(s, 0) for s in ("pass", "fail", "unknown", "manual")}

    def score(self) -> int:
        """Percent passed of the rules that could be decided (pass + fail)."""
        counts = self.counts()
        decided = counts["pass"] + counts["fail"]
        return round(100 * counts["pass"] / decided) if decided else 0

    def by_area(self) -> dict[str, dict[str, int]]:
        """Return status counts per inspection area, in inspection order."""
        table: dict[str, dict[str, int]] = {}
        for area in AREAS:
            rows = [f for f in self.findings if f.area == area]
            if rows:
                found = Counter(f.status for f in rows)
                table[area] = {s: found.get(s, 0) for s in ("pass", "fail", "unknown", "manual")}
        return table

    def as_json(self) -> dict[str, Any]:
        """Return the documented JSON object."""
        return {
            "state": self.state,
            "site": self.site_id,
            "license": self.license,
            "at": self.at.isoformat(),
            "counts": self.counts(),
            "score": self.score(),
            "findings": [f.as_json() for f in self.findings],
            "problems": self.problems,
        }


def license_of(site: Site, profile: Profile, given: str | None) -> str | None:
    """Return the licence type: the option, the profile, else the facility type."""
    return given or profile.license or FACILITY_LICENSE.get(site.site.facility_type)


def profile_problems(site: Site, profile: Profile) -> list[str]:
    """Return one line per id the profile names that the site model does not have."""
    zones = {z.id for z in site.zones}
    doors = {d.id for d in site.doors}
    barriers = {b.id for b in site.barriers}
    cameras = {d.id for d in site.devices if d.type == "camera"} | {"default"}
    problems = [
        f"profile: zones.{role} names unknown zone {zone!r}"
        for role, ids in profile.zones.items()
        for zone in ids
        if zone not in zones
    ]
    problems += [
        f"profile: doors names unknown door {d!r}" for d in profile.doors if d not in doors
    ]
    problems += [
        f"profile: barrier_sensors names unknown barrier {b!r}"
        for b in profile.barrier_sensors
        if b not in barriers
    ]
    problems += [
        f"profile: cameras names unknown camera {c!r}" for c in profile.cameras if c not in cameras
    ]
    return problems


def evaluate(rule: Rule, subject: Subject) -> Outcome:
    """Run one rule's check."""
    if rule.kind == "attestation":
        assert isinstance(rule.params, AttestParams)
        return run_attestation(subject, rule.params, rule.id)
    return KINDS[rule.kind].run(subject, rule.params)


def run(
    *,
    pack: Pack,
    site: Site,
    profile: Profile,
    records: Records,
    now: datetime,
    license: str | None = None,
) -> Report:
    """Check every applicable rule of ``pack`` and return the report (inspection order)."""
    lic = license_of(site, profile, license)
    subject = Subject(site=site, profile=profile, records=records, now=now)
    findings = []
    for rule in pack.applicable(lic):
        outcome = evaluate(rule, subject)
        findings.append(
            Finding(
                rule=rule.id,
                citation=rule.citation,
                status=outcome.status,
                confidence=rule.confidence,
                title=rule.title,
                area=rule.area,
                severity=rule.severity,
                kind=rule.kind,
                evidence=outcome.evidence,
                override_reason=rule.override_reason,
            )
        )
    findings.sort(key=lambda f: (AREAS.index(f.area), f.rule))
    return Report(
        state=pack.state,
        site_id=site.site.id,
        site_name=site.site.name,
        license=lic,
        at=now,
        findings=findings,
        problems=[str(p) for p in pack.problems] + profile_problems(site, profile),
    )
