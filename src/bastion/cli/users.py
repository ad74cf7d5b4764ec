"""``bastion users``: create the first admin, manage accounts, roles and API tokens."""

from __future__ import annotations

import io
from datetime import UTC, timedelta
from typing import Annotated

import qrcode
import typer
from rich.table import Table

from bastion.auth import service
from bastion.auth.permissions import Grant, Role
from bastion.cli.common import (
    DataDirOption,
    console,
    hub_for,
    one_line_errors,
    site_zones,
    zone_for,
)
from bastion.core.context import Context
from bastion.core.errors import InvalidInput
from bastion.core.sitetime import site_time

app = typer.Typer(
    help="Manage operator accounts, roles, authenticators and API tokens.", no_args_is_help=True
)

CLI_CONTEXT_ACTOR = "cli"
SiteOption = Annotated[
    str | None, typer.Option("--site", help="Site id the role applies to (default: every site).")
]
ZoneOption = Annotated[
    list[str] | None,
    typer.Option(
        "--zone", help="Only this zone of the site (repeatable; reads still cover the site)."
    ),
]


def _context() -> Context:
    return Context(actor=CLI_CONTEXT_ACTOR)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {value!r}; choose one of {choices}") from None


def _qr_text(uri: str) -> str:
    code = qrcode.QRCode(border=1)
    code.add_data(uri)
    code.make(fit=True)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()


def _show_enrolment(username: str, enrolment: service.TotpEnrolment) -> None:
    console.print(f"Scan this with the authenticator app of [bold]{username}[/]:")
    typer.echo(_qr_text(enrolment.provisioning_uri))
    typer.echo(enrolment.provisioning_uri)
    console.print("Keep the URI secret; it is shown only once.")


@app.command("create-admin")
@one_line_errors
def create_admin(
    username: Annotated[str, typer.Option(prompt=True, help="User name of the admin.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="BASTION_ADMIN_PASSWORD",
            help="Password (prompted when omitted; at least 12 characters).",
        ),
    ],
    display_name: Annotated[str, typer.Option(help="Name shown in the console.")] = "",
    data_dir: DataDirOption = None,
) -> None:
    """Create an admin for every site, enrol TOTP and print its URI and QR code."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        user = service.create_user(
            session=session,
            username=username,
            password=password,
            display_name=display_name,
            grants=[Grant(Role.ADMIN)],
            clock=hub.clock,
            context=_context(),
        )
        enrolment = service.enrol_totp(
            session=session, user=user, clock=hub.clock, context=_context()
        )
    console.print(f"created admin [bold]{user.username}[/] (id {user.id})")
    _show_enrolment(user.username, enrolment)


@app.command()
@one_line_errors
def create(
    username: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[list[str], typer.Option("--role", help="Role to grant (repeatable).")],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Password."),
    ],
    site: SiteOption = None,
    totp: Annotated[bool, typer.Option(help="Enrol TOTP now (always for MFA roles).")] = False,
    display_name: Annotated[str, typer.Option(help="Name shown in the console.")] = "",
    data_dir: DataDirOption = None,
) -> None:
    """Create an account with roles at one site or every site."""
    grants = [Grant(_role(r), site) for r in role]
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        user = service.create_user(
            session=session,
            username=username,
            password=password,
            display_name=display_name,
            grants=grants,
            clock=hub.clock,
            context=_context(),
        )
        enrolment = None
        if totp or any(g.role in {Role.ADMIN, Role.SECURITY_MANAGER} for g in grants):
            enrolment = service.enrol_totp(
                session=session, user=user, clock=hub.clock, context=_context()
            )
    console.print(f"created [bold]{user.username}[/] (id {user.id})")
    if enrolment is not None:
        _show_enrolment(user.username, enrolment)


@app.command("list")
@one_line_errors
def list_(data_dir: DataDirOption = None) -> None:
    """List accounts with their roles."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        users = service.list_users(session=session)
        zone = zone_for(site_zones(session))
        now = hub.clock.now()
        table = Table()
        for column in ("id", "user", "roles", "totp", "state", "last sign-in"):
            table.add_column(column)
        for user in users:
            state = "disabled" if user.disabled else "active"
            if service.is_locked(user, now=now):
                state = "locked"
            table.add_row(
                str(user.id),
                user.username,
                ", ".join(g.label() for g in service.grants_of(user)) or "-",
                "yes" if user.totp_enrolled else "no",
                state,
                site_time(user.last_login_at, zone, empty="-"),
            )
    console.print(table)


@app.command()
@one_line_errors
def grant(
    username: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Argument(help="Role to grant.")],
    site: SiteOption = None,
    zone: ZoneOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Grant a role at one site (or only some of its zones) or every site."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        user = service.get_user_by_name(session=session, username=username)
        service.grant_role(
            session=session,
            user=user,
            role=_role(role),
            site_id=site,
            zone_ids=zone or None,
            clock=hub.clock,
            context=_context(),
        )
    console.print(f"granted {role} to {user.username}")


@app.command()
@one_line_errors
def revoke(
    username: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Argument(help="Role to take away.")],
    site: SiteOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Take a role away."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        user = service.get_user_by_name(session=session, username=username)
        service.revoke_role(
            session=session,
            user=user,
            role=_role(role),
            site_id=site,
            clock=hub.clock,
            context=_context(),
        )
    console.print(f"revoked {role} from {user.username}")


@app.command()
@one_line_errors
def disable(
    username: Annotated[str, typer.Argument(help="User name.")],
    data_dir: DataDirOption = None,
) -> None:
    """Disable an account and end its sessions and API tokens."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        user = service.get_user_by_name(session=session, username=username)
        service.disable_user(session=session, user=user, clock=hub.clock, context=_context())
    console.print(f"disabled {user.username}")


@app.command("reset-totp")
@one_line_errors
def reset_totp(
    username: Annotated[str, typer.Argument(help="User name.")],
    data_dir: DataDirOption = None,
) -> None:
    """Issue a new authenticator secret (lost phone); print its URI and QR code."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        user = service.get_user_by_name(session=session, username=username)
        enrolment = service.reset_totp(
            session=session, user=user, clock=hub.clock, context=_context()
        )
    _show_enrolment(user.username, enrolment)


@app.command("reset-password")
@one_line_errors
def reset_password(
    username: Annotated[str, typer.Argument(help="User name.")],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="New password."),
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Set a new password, clear a lock-out and end the account's sessions."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        user = service.get_user_by_name(session=session, username=username)
        service.set_password(
            session=session, user=user, password=password, clock=hub.clock, context=_context()
        )
    console.print(f"password of {user.username} replaced")


@app.command("token-create")
@one_line_errors
def token_create(
    name: Annotated[str, typer.Argument(help="What the token is for.")],
    owner: Annotated[str, typer.Option(help="Accountable user; must hold the role.")],
    role: Annotated[str, typer.Option(help="Role the token acts as.")],
    site: SiteOption = None,
    days: Annotated[
        int | None, typer.Option(min=1, help="Expire after this many days (default: never).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Mint an API token and print it once."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        user = service.get_user_by_name(session=session, username=owner)
        expires = hub.clock.now() + timedelta(days=days) if days else None
        new = service.create_api_token(
            session=session,
            owner=user,
            name=name,
            role=_role(role),
            site_id=site,
            expires_at=expires.astimezone(UTC) if expires else None,
            clock=hub.clock,
            context=_context(),
        )
    console.print(f"token {new.record.id} created; it is shown only once:")
    typer.echo(new.token)


@app.command("token-revoke")
@one_line_errors
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id.")],
    data_dir: DataDirOption = None,
) -> None:
    """Revoke an API token."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        record = service.revoke_api_token(
            session=session, token_id=token_id, clock=hub.clock, context=_context()
        )
    console.print(f"revoked token {record.id} ({record.name})")
