"""Permissions, roles and the least-privilege table that maps one onto the other.

A role is granted to a user either for one site or for every site (``site_id`` None),
and a site grant may be narrowed to some of the site's zones. Routes declare a
:class:`Permission` and where it applies; a principal holds it there when one of its
grants reaches that place and its role carries the permission.

How far a grant reaches (:meth:`Grant.reaches`):

* a grant for every site reaches everything;
* a site grant reaches that site;
* a grant narrowed to zones reads the whole of its site but acts (anything other than
  reading) only on something in one of its zones: a zone, a door between it and
  another zone, a device in it, an alarm raised in it. Acting on the site as a whole
  (a site-wide threat level, a policy) needs a grant for the whole site;
* something that belongs to no single site (a person enrolled for every site, a call
  tree without a site) is read with the permission held at any site, and changed
  only with a grant for every site.

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
* Biometric enrolment (``biometrics:manage``) is HR's as well as the security manager's:
  it records a person's consent. Operators see the cameras (``video:read``); changing
  what is analysed (``video:manage``) stays with the security manager.
* Trips not yet departed (``transport:dispatch``) deliberately do not end in ``:read``:
  until departure a trip's time and route are for dispatchers and security managers
  only (and its crew, checked by the transport service); operators and auditors see
  trips once they are on the road (``transport:read``).
* ``security_manager`` holds everything except ``people:manage`` (HR's records) and
  ``compliance:manage`` (the compliance officer's), and may manage accounts; but
  nobody may grant a role, mint a token or act on an account whose permissions they
  do not already hold at that scope (see :func:`covers`), so only an admin creates
  admins.
* Unlocking a door that a lockdown holds (``doors:override_lockdown``) belongs to the
  security manager and the admin only, and needs a reason: an operator's plain
  "Unlock" never beats a lockdown.
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
    DOORS_OVERRIDE_LOCKDOWN = "doors:override_lockdown"
    UPKEEP_READ = "upkeep:read"
    UPKEEP_TEST = "upkeep:test"
    UPKEEP_MANAGE = "upkeep:manage"
    VIDEO_READ = "video:read"
    VIDEO_MANAGE = "video:manage"
    BIOMETRICS_MANAGE = "biometrics:manage"
    TRANSPORT_READ = "transport:read"
    TRANSPORT_DISPATCH = "transport:dispatch"
    TRANSPORT_MANAGE = "transport:manage"
    CLUSTER_READ = "cluster:read"
    INVENTORY_READ = "inventory:read"
    INVENTORY_HANDLE = "inventory:handle"
    INVENTORY_MANAGE = "inventory:manage"


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
    INVENTORY_STAFF = "inventory_staff"
    INVENTORY_MANAGER = "inventory_manager"


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
            P.UPKEEP_READ,
            P.VIDEO_READ,
            P.TRANSPORT_READ,
            P.CLUSTER_READ,
            P.INVENTORY_READ,
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
            P.UPKEEP_READ,
            P.TRANSPORT_READ,
            P.INVENTORY_READ,
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
            P.BIOMETRICS_MANAGE,
        }
    ),
    Role.EMPLOYEE: frozenset({P.SAFETY_SELF, P.CASH_HANDLE}),
    Role.POS: frozenset({P.CASH_INGEST}),
    # Seed-to-sale inventory: staff move and count product, inventory managers run the books.
    Role.INVENTORY_STAFF: frozenset({P.SAFETY_SELF, P.INVENTORY_HANDLE}),
    Role.INVENTORY_MANAGER: frozenset(
        {P.SITE_READ, P.SAFETY_SELF, P.INVENTORY_READ, P.INVENTORY_HANDLE, P.INVENTORY_MANAGE}
    ),
}


MFA_REQUIRED_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.SECURITY_MANAGER})


@dataclass(frozen=True, slots=True)
class Grant:
    """One role held at one site (optionally only in some zones), or at every site."""

    role: Role
    site_id: str | None = None
    zone_ids: frozenset[str] | None = None

    def __post_init__(self) -> None:
        """Refuse zones without a site, and an empty zone set (it would reach nothing)."""
        if self.zone_ids is not None and (self.site_id is None or not self.zone_ids):
            raise ValueError("a grant limited to zones needs a site and at least one zone")

    def applies_to(self, site_id: str | None) -> bool:
        """Return True when this grant covers the whole of ``site_id`` (None: every site)."""
        return self.zone_ids is None and (self.site_id is None or self.site_id == site_id)

    def reaches(
        self, site_id: str | None, zone_ids: Iterable[str] | None = None, *, reading: bool = False
    ) -> bool:
        """Return True when this grant reaches a place (see the module docstring).

        ``site_id`` None is something of no single site; ``zone_ids`` None is the site
        as a whole.
        """
        if self.site_id is None:
            return True
        if site_id is None:
            return reading
        if self.site_id != site_id:
            return False
        if self.zone_ids is None or reading:
            return True
        return zone_ids is not None and not self.zone_ids.isdisjoint(zone_ids)

    def label(self) -> str:
        """Return ``role``, ``role@site`` or ``role@site/zone+zone`` for display."""
        if self.site_id is None:
            return self.role.value
        if self.zone_ids is None:
            return f"{self.role.value}@{self.site_id}"
        return f"{self.role.value}@{self.site_id}/{'+'.join(sorted(self.zone_ids))}"


def permissions_at(
    grants: Iterable[Grant], site_id: str | None, zone_ids: Iterable[str] | None = None
) -> frozenset[Permission]:
    """Return the permissions ``grants`` give at ``site_id`` (None: at every site).

    With ``zone_ids``, only permissions held in every one of those zones count.
    """
    wanted = None if zone_ids is None else frozenset(zone_ids)
    held: set[Permission] = set()
    for grant in grants:
        if grant.applies_to(site_id) or (
            wanted is not None
            and grant.site_id == site_id
            and grant.zone_ids is not None
            and wanted <= grant.zone_ids
        ):
            held |= ROLE_PERMISSIONS[grant.role]
    return frozenset(held)


def has_permission(
    grants: Iterable[Grant],
    permission: Permission,
    site_id: str | None,
    *,
    zone_ids: Iterable[str] | None = None,
    reading: bool = False,
) -> bool:
    """Return True when ``grants`` give ``permission`` at ``site_id`` (None: at some site).

    ``zone_ids`` and ``reading`` say what is done there, as :meth:`Grant.reaches` takes them.
    """
    zones = None if zone_ids is None else frozenset(zone_ids)
    for grant in grants:
        if permission in ROLE_PERMISSIONS[grant.role] and (
            site_id is None or grant.reaches(site_id, zones, reading=reading)
        ):
            return True
    return False


def may(
    grants: Iterable[Grant],
    permission: Permission,
    site_id: str | None,
    *,
    zone_ids: Iterable[str] | None = None,
    reading: bool = False,
) -> bool:
    """Return True when ``grants`` give ``permission`` at a place (None: of no single site)."""
    zones = None if zone_ids is None else frozenset(zone_ids)
    return any(
        permission in ROLE_PERMISSIONS[g.role] and g.reaches(site_id, zones, reading=reading)
        for g in grants
    )


def sites_with(grants: Iterable[Grant], permission: Permission) -> frozenset[str] | None:
    """Return the sites where ``permission`` is held, or None when it is held at every site.

    A grant limited to zones counts for its site: lists are reads, and it reads its site.
    """
    sites: set[str] = set()
    for grant in grants:
        if permission in ROLE_PERMISSIONS[grant.role]:
            if grant.site_id is None:
                return None
            sites.add(grant.site_id)
    return frozenset(sites)


def covers(
    grants: Iterable[Grant],
    role: Role,
    site_id: str | None,
    zone_ids: Iterable[str] | None = None,
) -> bool:
    """Return True when ``grants`` already hold every permission of ``role`` at that scope.

    Used to stop privilege escalation: nobody grants (or mints a token for) more than
    they hold themselves at that scope.
    """
    return ROLE_PERMISSIONS[role] <= permissions_at(grants, site_id, zone_ids)


def requires_mfa(grants: Iterable[Grant]) -> bool:
    """Return True when any grant is for a role that must sign in with TOTP."""
    return any(g.role in MFA_REQUIRED_ROLES for g in grants)
