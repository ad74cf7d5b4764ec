"""Demo accounts: an operator (password only) and an admin (password and TOTP)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bastion.auth import service
from bastion.auth.permissions import Grant, Role
from bastion.core.context import Context
from bastion.hub import Hub


@dataclass(frozen=True)
class DemoAccounts:
    """Credentials printed by ``bastion demo`` (demo data directories only)."""

    operator_password: str
    admin_password: str
    admin_totp_secret: str


def _demo_password() -> str:
    return f"demo-{secrets.token_urlsafe(9)}"


def ensure_demo_accounts(hub: Hub, *, operator: str, admin: str) -> DemoAccounts:
    """Create the demo accounts, or give existing ones fresh passwords; keep the admin's TOTP."""
    context = Context(actor="demo")
    operator_password, admin_password = _demo_password(), _demo_password()
    with hub.unit_of_work() as session:
        for name, password, role in (
            (operator, operator_password, Role.OPERATOR),
            (admin, admin_password, Role.ADMIN),
        ):
            user = service.find_user(session=session, username=name)
            if user is None:
                service.create_user(
                    session=session,
                    username=name,
                    password=password,
                    display_name=f"Demo {role.value.replace('_', ' ')}",
                    grants=[Grant(role)],
                    clock=hub.clock,
                    context=context,
                )
            else:
                service.set_password(
                    session=session, user=user, password=password, clock=hub.clock, context=context
                )
        admin_user = service.get_user_by_name(session=session, username=admin)
        secret = admin_user.totp_secret
        if secret is None:
            secret = service.enrol_totp(
                session=session, user=admin_user, clock=hub.clock, context=context
            ).secret
    return DemoAccounts(
        operator_password=operator_password,
        admin_password=admin_password,
        admin_totp_secret=secret,
    )
