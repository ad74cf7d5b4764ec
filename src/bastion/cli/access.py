"""``bastion access``: explain decisions, who can open a door, who entered a zone; enrol people."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from bastion.access import service
from bastion.access.cards import parse_card
from bastion.access.engine import AccessEngine
from bastion.access.runtime import load_engine
from bastion.access.snapshot import LevelSpec
from bastion.cli.common import DataDirOption, console, hub_for, one_line_errors
from bastion.core.context import Context
from bastion.core.errors import InvalidInput, NotFound
from bastion.core.sitetime import site_time, site_zone, zone_name
from bastion.hub import Hub
from bastion.people import employees as hiring
from bastion.people import service as people_service
from bastion.site import service as site_service

app = typer.Typer(
    help="Access control: explain, who-can, entries, enrolment.", no_args_is_help=True
)
CLI = Context(actor="cli")


def _credential_id(hub: Hub, engine: AccessEngine, text: str) -> str:
    """Return a credential id from an id or from card data (hashed, never printed)."""
    if text in engine.snapshot.creds:
        return text
    if ":" not in text:
        raise NotFound(
            f"no credential {text!r}; give a credential id or card data like h10301:FC:N"
        )
    digest = hub.hash_credential(parse_card(text).canonical, purpose="card")
    cred = engine.snapshot.by_card.get(digest)
    if cred is None:
        raise NotFound("no enrolled credential matches that card")
    return cred.id


def _when(engine: AccessEngine, door: str, at: str | None) -> datetime | None:
    if at is None:
        return None
    try:
        value = datetime.fromisoformat(at)
    except ValueError:
        raise InvalidInput(
            f"cannot read --at {at!r}; use ISO 8601, e.g. 2026-03-09T10:00"
        ) from None
    if value.tzinfo is None:
        key = engine.doors_for(door)[0]
        site = engine.snapshot.sites[engine.snapshot.doors[key].site_id]
        value = value.replace(tzinfo=ZoneInfo(site.site.site.timezone))
    return value


@app.command()
@one_line_errors
def explain(
    credential: Annotated[str, typer.Option(help="Credential id, or card data (h10301:FC:N …).")],
    door: Annotated[str, typer.Option(help="Door id.")],
    at: Annotated[
        str | None, typer.Option(help="When (ISO; without an offset: the site's local time).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print the full reason chain of the decision a credential gets at a door."""
    with hub_for(data_dir) as hub:
        engine = load_engine(hub)
        if door not in engine.snapshot.doors:
            raise NotFound(f"unknown door {door!r} (not a door of any stored site)")
        cred_id = _credential_id(hub, engine, credential)
        when = _when(engine, door, at)
        result = engine.explain(engine.presentation_for(cred_id, door, at=when))
    console.print(f"credential {cred_id} at {door}, {result.at.isoformat()}", highlight=False)
    for line in result.lines():
        console.print(line, highlight=False, markup=False)


@app.command("who-can")
@one_line_errors
def who_can(
    door: Annotated[str, typer.Option(help="Door id, or zone id for every door into it.")],
    at: Annotated[str | None, typer.Option(help="Only levels valid then (ISO).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """List who can open a door ("who can open the vault?")."""
    with hub_for(data_dir) as hub:
        engine = load_engine(hub)
        keys = engine.doors_for(door)
        when = _when(engine, keys[0], at)
        holders = {h.person_id: h for key in keys for h in engine.who_can(key, at=when)}
        with hub.db.sessions() as session:
            names = {
                p.id: p.name for p in people_service.list_people(session=session) if p.id in holders
            }
    table = Table(title=f"Who can open {', '.join(keys)}")
    for column in ("Person", "Name", "Role", "Kind", "Levels"):
        table.add_column(column)
    for holder in sorted(holders.values(), key=lambda h: h.person_id):
        table.add_row(
            holder.person_id,
            names.get(holder.person_id, ""),
            holder.role,
            holder.kind,
            ", ".join(holder.levels),
        )
    console.print(table)
    console.print(f"{len(holders)} people")


@app.command()
@one_line_errors
def entries(
    zone: Annotated[str, typer.Option(help="Zone id, e.g. vault.")],
    since: Annotated[
        str, typer.Option(help="7d, 12h or a time on the site's clock, e.g. 2026-12-01T08:00.")
    ] = "7d",
    site: Annotated[str | None, typer.Option(help="Site id (default: the only one).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """List granted entries into a zone from the ledger ("who entered the vault last week?")."""
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        sites = site_service.load_all(session=session)
        if site is None:
            if len(sites) != 1:
                raise InvalidInput(f"give --site (one of {', '.join(sorted(sites)) or 'none'})")
            site = next(iter(sites))
        if site not in sites:
            raise NotFound(f"no site {site!r}")
        found = service.entries(
            session=session,
            site=sites[site],
            zone_id=zone,
            since=service.parse_since(
                since, now=hub.clock.now(), zone=site_zone(sites[site].site.timezone)
            ),
        )
        names = {p.id: p.name for p in people_service.list_people(session=session)}
    site_tz = sites[site].site.timezone
    table = Table(title=f"Entries into {zone} since {since} ({zone_name(site_tz)} time)")
    for column in ("Time", "Person", "Name", "Door", "Reader"):
        table.add_column(column)
    for entry in found:
        table.add_row(
            site_time(entry.time, site_tz, seconds=True),
            entry.person_id or "",
            names.get(entry.person_id or "", ""),
            entry.door_id,
            entry.reader_id or "",
        )
    console.print(table)
    console.print(f"{len(found)} entries")


@app.command("person-add")
@one_line_errors
def person_add(
    name: Annotated[str, typer.Option(help="Display name (stored encrypted).")],
    kind: Annotated[str, typer.Option(help="employee, contractor or visitor.")] = "employee",
    role: Annotated[str, typer.Option(help="Role label.")] = "",
    site: Annotated[str | None, typer.Option(help="Site id (default: every site).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add a cardholder and print their id."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        person = service.create_person(
            session=session,
            name=name,
            kind=kind,
            role=role,
            site_id=site,
            context=CLI,
            now=hub.clock.now(),
        )
        console.print(person.id)


@app.command()
@one_line_errors
def issue(
    person: Annotated[str, typer.Option(help="Person id.")],
    kind: Annotated[str, typer.Option(help="card, pin, card_and_pin or mobile.")] = "card",
    card: Annotated[str | None, typer.Option(help="Card data, e.g. h10301:18:12345.")] = None,
    pin: Annotated[
        str | None, typer.Option(help="PIN (prompted when the kind needs one).", hide_input=True)
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Enrol a credential; prints its id (card data and PIN are only stored hashed)."""
    if kind in ("pin", "card_and_pin") and pin is None:
        pin = typer.prompt("PIN", hide_input=True)
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        hiring.check_levels_held(session=session, person_id=person, now=hub.clock.now())
        credential = service.issue_credential(
            session=session,
            person_id=person,
            kind=kind,
            card=parse_card(card) if card is not None else None,
            pin=pin,
            hasher=hub.hash_credential,
            context=CLI,
            now=hub.clock.now(),
        )
        console.print(credential.id)


@app.command()
@one_line_errors
def revoke(
    credential: Annotated[str, typer.Option(help="Credential id.")],
    reason: Annotated[str, typer.Option(help="Why.")] = "",
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a credential."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        service.revoke_credential(
            session=session,
            credential_id=credential,
            reason=reason,
            context=CLI,
            now=hub.clock.now(),
        )
    console.print(f"revoked {credential}")


@app.command()
@one_line_errors
def level(
    level_id: Annotated[str, typer.Argument(help="Level id.")],
    site: Annotated[str, typer.Option(help="Site id.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    schedule: Annotated[str | None, typer.Option(help="Schedule id (default: always).")] = None,
    door: Annotated[list[str] | None, typer.Option(help="Door id (repeatable).")] = None,
    zone: Annotated[list[str] | None, typer.Option(help="Zone id (repeatable).")] = None,
    max_threat: Annotated[int, typer.Option(help="Honoured up to this threat level.")] = 0,
    data_dir: DataDirOption = None,
) -> None:
    """Create or replace an access level."""
    spec = LevelSpec(
        id=level_id,
        site_id=site,
        schedule_id=schedule,
        doors=tuple(door or ()),
        zones=tuple(zone or ()),
        max_threat_level=max_threat,
    )
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        service.put_level(
            session=session, spec=spec, name=name or level_id, context=CLI, now=hub.clock.now()
        )
    console.print(f"level {level_id} saved")


@app.command()
@one_line_errors
def assign(
    person: Annotated[str, typer.Option(help="Person id.")],
    level_id: Annotated[str, typer.Option("--level", help="Level id.")],
    data_dir: DataDirOption = None,
) -> None:
    """Give a person an access level, through the hiring gate (background check, training)."""
    with hub_for(data_dir) as hub, hub.unit_of_work() as session:
        hiring.grant_level(
            session=session, person_id=person, level_id=level_id, context=CLI, now=hub.clock.now()
        )
    console.print(f"{person} now holds {level_id}")
