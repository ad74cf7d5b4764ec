"""Retention policy: how long each record class is kept at a site in a state, and why.

A class is kept for the longest minimum any of the state's rules asks for, or for the
site's own setting when that is longer (a shorter setting is raised to the minimum);
the site may also keep a class for ever.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.compliance.checks import RetentionParams
from bastion.compliance.packs import Pack
from bastion.compliance.profile import Profile
from bastion.people.visitors import RETENTION_DAYS as VISIT_DEFAULT_DAYS

CLASS_OF_KIND = {
    "incident": "incident_register",
    "inventory_count": "inventory",
    "full_inventory": "inventory",
    "inventory_reconciliation": "inventory",
    "closing_count": "inventory",
    "vault_access_log": "surveillance_log",
    "failure_test": "surveillance_log",
    "attestation": "compliance_records",
    "roster_review": "compliance_records",
    "security_assessment": "compliance_records",
    "traceability_upload": "compliance_records",
}
CLASSES = ("visitor_log", *sorted({*CLASS_OF_KIND.values(), "training", "transport"}))


@dataclass(frozen=True)
class Policy:
    """Days a record class is kept (None: kept for ever), and why."""

    record_class: str
    days: int | None
    reason: str


def policy(pack: Pack, profile: Profile) -> dict[str, Policy]:
    """Return the retention policy of every record class for a site in the pack's state."""
    minimums: dict[str, tuple[int, str]] = {}
    for rule in pack.rules:
        if isinstance(rule.params, RetentionParams):
            for name in rule.params.classes:
                if name not in minimums or rule.params.min_days > minimums[name][0]:
                    minimums[name] = (rule.params.min_days, f"{rule.id} ({rule.citation})")
    result = {}
    for name in CLASSES:
        floor, why = minimums.get(name, (0, ""))
        own = profile.retention.get(name, ...)
        if own is None:
            result[name] = Policy(name, None, "kept for ever (site setting)")
        elif own is not ...:
            days = max(int(own), floor)
            note = "site setting" if own >= floor else f"raised to the state minimum, {why}"
            result[name] = Policy(name, days, note)
        elif floor:
            result[name] = Policy(name, floor, f"state minimum, {why}")
        elif name == "visitor_log":
            result[name] = Policy(name, VISIT_DEFAULT_DAYS, "Bastion default")
        else:
            result[name] = Policy(name, None, "no minimum known: kept for ever")
    return result
