"""Every safety route declares its guard and holds it (the auth suite's checks, on this app).

The auth suite's route tests are re-run here on the app fixture of this folder, which
mounts the safety router, so they pass before the router is listed in api/routers.py.
"""

from __future__ import annotations

from bastion.api.deps import iter_routes, route_permission
from bastion.auth.permissions import Permission
from tests.auth.test_auth_route_permissions import (  # noqa: F401  (fixtures and tests re-run)
    sign_in,
    target,
    test_every_route_declares_exactly_one_guard,
    test_no_route_is_reachable_without_the_right_role,
    test_public_routes_are_few_and_known,
    test_stolen_cookie_without_csrf_cannot_change_anything,
)


def test_safety_routes_use_the_expected_permissions(app):
    found = {
        route.path: route_permission(route)
        for route in iter_routes(app)
        if getattr(route, "path", "").startswith("/api/safety")
    }
    assert len(found) >= 20
    staff = {p for p, perm in found.items() if perm != Permission.SAFETY_SELF}
    assert staff == {
        "/api/safety/shared-assessments",
        "/api/safety/shared-assessments/{assessment_id}",
        "/api/safety/staff/timers",
        "/api/safety/staff/reports",
        "/api/safety/staff/reports/{report_id}",
    }
