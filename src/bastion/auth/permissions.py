"""Permissions, roles and the least-privilege table that maps one onto the other.

A role is granted to a user either for one site or for every site (``site_id`` None).
Routes declare a :class:`Permission`; a principal holds it at a site when one of its
grants covers that site and its role carries the permission.

Decisions worth knowing:

* ``auditor`` is strictly read-only: every ``*:read`` permission plus ``ledger:verify``;
  no ``safety:self`` either, since that one acts (raises a personal alarm).
* ``operator`` works the console: reads, works alarms, controls doors and may start
  or lift a lockdown (``doors:lockdown``). Lockdown is time-critical, never blocks
  egress and is ledgered, so waiting for a manager would cost more than it protects.
  Changing the site-wide threat level (``threat:set``), rules, access levels and
  accounts stays with the security manager.
* ``hr`` manages people and visitors (on- and offboarding) but controls no door.
* ``employee`` uses the self-service safety features and, as a cashier, handles only
  their own till (``cash:handle``; the cash service enforces "own till").
* ``pos`` is for a point-of-sale system's API token: it may only send transactions
  (``cash:ingest``).
* The armored-pickup schedule (``cash:pickups``) deliberately does not end in ``:read``:
  auditors and operators never see when cash leaves the building.
* ``security_manager`` holds everything except ``people:manage`` (HR's records) and
  ``compliance:manage`` (the compliance officer's), and may manage accounts; but
  nobody may grant a role, mint a token or act on an account whose permissions they
  do not already hold at that scope (see :func:`covers`), so only an admin creates
  admins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    """Something a route or an action needs; ``<domain>:<verb>``."""

    SITE_READ = "site:read"
    SITE_WRITE = "site:write"
    EVENTS_READ = "events:read"
    LEDGER_VERIFY = "ledger:verify"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    TOKENS_MANAGE = "tokens:manage"
    DOORS_READ = "doors:read"
    DOORS_CONTROL = "doors:control"
    DOORS_LOCKDOWN = "doors:lockdown"
    ALARMS_READ = "alarms:read"
    ALARMS_WORK = "alarms:work"
    ACCESS_READ = "access:read"
    ACCESS_MANAGE = "access:manage"
    PEOPLE_READ = "people:read"
    PEOPLE_MANAGE = "people:manage"
    VISITORS_MANAGE = "visitors:manage"
    RULES_READ = "rules:read"
    RULES_MANAGE = "rules:manage"
    THREAT_SET = "threat:set"
    NOTIFY_SEND = "notify:send"
    REPORTS_READ = "reports:read"
    COMPLIANCE_READ = "compliance:read"
    COMPLIANCE_MANAGE = "compliance:manage"
    ANALYSIS_READ = "analysis:read"
    ANALYSIS_RUN = "analysis:run"
    SAFETY_SELF = "safety:self"
    CASH_READ = "cash:read"
    CASH_HANDLE = "cash:handle"
    CASH_COUNT = "cash:count"
    CASH_MANAGE = "cash:manage"
    CASH_PICKUPS = "cash:pickups"
    CASH_INGEST = "cash:ingest"


class Role(StrEnum):
    """A named bundle of permissions granted to people and API tokens."""

    ADMIN = "admin"
    SECURITY_MANAGER = "security_manager"
    OPERATOR = "operator"
    COMPLIANCE_OFFICER = "compliance_officer"
    AUDITOR = "auditor"
    HR = "hr"
    EMPLOYEE = "employee"
    POS = "pos"


P = Permission

READ_ONLY: frozenset[Permission] = frozenset(p for p in Permission if p.value.endswith(":read"))

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.SECURITY_MANAGER: frozenset(Permission) - {P.PEOPLE_MANAGE, P.COMPLIANCE_MANAGE},
    Role.OPERATOR: frozenset(
        {
            P.SITE_READ,
            P.EVENTS_READ,
            P.DOORS_READ,
            P.DOORS_CONTROL,
            P.DOORS_LOCKDOWN,
            P.ALARMS_READ,
            P.ALARMS_WORK,
            P.ACCESS_READ,
            P.PEOPLE_READ,
            P.VISITORS_MANAGE,
            P.RULES_READ,
            P.NOTIFY_SEND,
            P.SAFETY_SELF,
            P.CASH_READ,
        }
    ),
    Role.COMPLIANCE_OFFICER: frozenset(
        {
            P.SITE_READ,
            P.EVENTS_READ,
            P.LEDGER_VERIFY,
            P.USERS_READ,
            P.DOORS_READ,
            P.ALARMS_READ,
            P.ACCESS_READ,
            P.PEOPLE_READ,
            P.RULES_READ,
            P.REPORTS_READ,
            P.COMPLIANCE_READ,
            P.COMPLIANCE_MANAGE,
            P.ANALYSIS_READ,
            P.SAFETY_SELF,
            P.CASH_READ,
        }
    ),
    Role.AUDITOR: READ_ONLY | {P.LEDGER_VERIFY},
    Role.HR: frozenset(
        {
            P.SITE_READ,
            P.ACCESS_READ,
            P.PEOPLE_READ,
            P.PEOPLE_MANAGE,
            P.VISITORS_MANAGE,
            P.SAFETY_SELF,
        }
    ),
    Role.EMPLOYEE: frozenset({P.SAFETY_SELF, P.CASH_HANDLE}),
    Role.POS: frozenset({P.CASH_INGEST}),
}

MFA_REQUIRED_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.SECURITY_MANAGER})


@dataclass(frozen=True, slots=True)
class Grant:
    """One role held at one site, or at every site when ``site_id`` is None."""

    role: Role
    site_id: str | None = None

    def applies_to(self, site_id: str | None) -> bool:
        """Return True when this grant covers ``site_id`` (None asks for every site)."""
        return self.site_id is None or self.site_id == site_id

    def label(self) -> str:
        """Return ``role`` or ``role@site`` for display."""
        return self.role.value if self.site_id is None else f"{self.role.value}@{self.site_id}"


def permissions_at(grants: Iterable[Grant], site_id: str | None) -> frozenset[Permission]:
    """Return the permissions ``grants`` give at ``site_id`` (None: at every site)."""
    held: set[Permission] = set()
    for grant in grants:
        if grant.applies_to(site_id):
            held |= ROLE_PERMISSIONS[grant.role]
    return frozenset(held)


def has_permission(grants: Iterable[Grant], permission: Permission, site_id: str | None) -> bool:
    """Return True when ``grants`` give ``permission`` at ``site_id`` (None: at some site)."""
    for grant in grants:
        if permission in ROLE_PERMISSIONS[grant.role] and (
            site_id is None or grant.applies_to(site_id)
        ):
            return True
    return False


def sites_with(grants: Iterable[Grant], permission: Permission) -> frozenset[str] | None:
    """Return the sites where ``permission`` is held, or None when it is held at every site."""
    sites: set[str] = set()
    for grant in grants:
        if permission in ROLE_PERMISSIONS[grant.role]:
            if grant.site_id is None:
                return None
            sites.add(grant.site_id)
    return frozenset(sites)


def covers(grants: Iterable[Grant], role: Role, site_id: str | None) -> bool:
    """Return True when ``grants`` already hold every permission of ``role`` at ``site_id``.

    Used to stop privilege escalation: nobody grants (or mints a token for) more than
    they hold themselves at that scope.
    """
    return ROLE_PERMISSIONS[role] <= permissions_at(grants, site_id)


def requires_mfa(grants: Iterable[Grant]) -> bool:
    """Return True when any grant is for a role that must sign in with TOTP."""
    return any(g.role in MFA_REQUIRED_ROLES for g in grants)
