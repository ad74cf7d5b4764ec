"""How far a grant reaches: sites, zones, records of no single site, and escalation checks."""

import pytest

from bastion.auth.permissions import (
    Grant,
    Permission,
    Role,
    covers,
    has_permission,
    may,
    permissions_at,
    sites_with,
)

P = Permission
SALES = frozenset({"sales-floor"})


def test_a_site_grant_reaches_its_site_only():
    grant = Grant(Role.OPERATOR, "a")
    assert grant.reaches("a") and grant.reaches("a", {"vault"})
    assert not grant.reaches("b") and not grant.reaches("b", reading=True)


def test_a_zone_grant_reads_its_site_and_acts_only_in_its_zones():
    grant = Grant(Role.OPERATOR, "a", SALES)
    assert grant.reaches("a", reading=True)
    assert grant.reaches("a", {"vault"}, reading=True)
    assert grant.reaches("a", {"sales-floor", "parking"})
    assert not grant.reaches("a", {"vault", "back-of-house"})
    assert not grant.reaches("a")  # the site as a whole
    assert not grant.reaches("b", {"sales-floor"})


def test_records_of_no_single_site_are_read_anywhere_and_changed_by_global_grants():
    assert Grant(Role.HR, "a").reaches(None, reading=True)
    assert not Grant(Role.HR, "a").reaches(None)
    assert Grant(Role.HR).reaches(None)
    assert may([Grant(Role.HR, "a")], P.PEOPLE_READ, None, reading=True)
    assert not may([Grant(Role.HR, "a")], P.PEOPLE_MANAGE, None)
    assert may([Grant(Role.HR)], P.PEOPLE_MANAGE, None)


def test_may_needs_the_permission_in_the_role_as_well_as_the_reach():
    grants = [Grant(Role.AUDITOR, "a"), Grant(Role.OPERATOR, "b", SALES)]
    assert may(grants, P.ALARMS_READ, "a", reading=True)
    assert not may(grants, P.ALARMS_WORK, "a", zone_ids={"vault"})
    assert may(grants, P.ALARMS_WORK, "b", zone_ids={"sales-floor"})
    assert not may(grants, P.ALARMS_WORK, "b", zone_ids={"vault"})


def test_has_permission_counts_zone_grants_at_a_site_only_for_reading_or_their_zones():
    grants = [Grant(Role.OPERATOR, "a", SALES)]
    assert has_permission(grants, P.DOORS_CONTROL, None)  # somewhere
    assert not has_permission(grants, P.DOORS_CONTROL, "a")
    assert has_permission(grants, P.DOORS_CONTROL, "a", zone_ids={"sales-floor"})
    assert has_permission(grants, P.DOORS_READ, "a", reading=True)


def test_sites_with_lists_zone_grants_for_reading_lists():
    assert sites_with([Grant(Role.OPERATOR, "a", SALES)], P.ALARMS_READ) == {"a"}
    assert sites_with([Grant(Role.OPERATOR, "a"), Grant(Role.AUDITOR)], P.ALARMS_READ) is None
    assert sites_with([Grant(Role.EMPLOYEE)], P.ALARMS_READ) == frozenset()


def test_a_zone_grant_covers_only_roles_in_those_zones():
    manager = [Grant(Role.SECURITY_MANAGER, "a", SALES)]
    assert covers(manager, Role.OPERATOR, "a", SALES)
    assert not covers(manager, Role.OPERATOR, "a")
    assert not covers(manager, Role.OPERATOR, "a", {"sales-floor", "vault"})
    assert permissions_at(manager, "a") == frozenset()
    whole = [Grant(Role.SECURITY_MANAGER, "a")]
    assert covers(whole, Role.OPERATOR, "a", SALES) and covers(whole, Role.OPERATOR, "a")


def test_zone_grants_need_a_site_and_a_zone():
    with pytest.raises(ValueError, match="needs a site"):
        Grant(Role.OPERATOR, None, SALES)
    with pytest.raises(ValueError, match="at least one zone"):
        Grant(Role.OPERATOR, "a", frozenset())
    assert Grant(Role.OPERATOR, "a", frozenset({"vault", "cash-room"})).label() == (
        "operator@a/cash-room+vault"
    )
