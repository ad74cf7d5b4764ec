"""Where a request acts: the site (and zones) every guarded route declares.

A guard names its permission and where it applies, ``Require(P.X, site=<source>)``,
optionally with ``zone=<zone source>``. A *source* turns the request into a
:class:`Place` before the route runs (and before its body is validated):

``FromPath("site_id")`` / ``FromQuery("site_id")`` / ``FromBody("site_id")``
    The site the request names. ``FromBody`` reads the raw body Starlette already
    holds (JSON, a form or YAML; a dotted field such as ``"site.id"``).
``FromResource("alarm_id", ALARM)``
    The site (and zone) of the record the request names, found through a
    :class:`Resource` (see :mod:`bastion.api.resources`); ``where`` says whether the
    id is in the path (default), the query or the body.
``AnySite()``
    A list: the permission held at any site lets the caller in, and the route keeps
    only records of the caller's sites (``principal.visible`` / ``principal.sites_with``).
``EverySite()``
    Something that changes every site (a rule, the shared threat level): only a
    grant for every site.
``Global()``
    Not about a site: one's own profile and safety data, calculators, the playbook
    catalogue. The permission held at any site is enough.

Several sources may be given as a tuple; each must pass (an update that names its
record and a new site checks both).

A source whose value is absent behaves as its ``missing`` says: ``REQUIRED`` (422),
``ANY_SITE`` (an optional filter: the caller's sites), ``EVERY_SITE`` (a grant or
token for every site), ``ONLY_SITE`` (the only loaded site) or ``SKIP`` (nothing to
check, e.g. a field an update leaves unchanged).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Literal

import yaml
from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bastion.core import yamlbounds
from bastion.core.errors import InvalidInput, NotFound
from bastion.hub import Hub
from bastion.site.schemas import Site

OUTSIDE = "outside"


class Missing(StrEnum):
    """What an absent site (or record id) means for a source."""

    REQUIRED = "required"
    ANY_SITE = "any_site"
    EVERY_SITE = "every_site"
    ONLY_SITE = "only_site"
    SKIP = "skip"


@dataclass(frozen=True)
class Place:
    """Where a request acts: a site and maybe some of its zones.

    ``site_id`` None is something of no single site; ``every`` marks something that
    only a grant for every site may touch, even to read. ``record`` marks the place of
    a stored record: a caller who cannot see that site gets 404, as for a missing one.
    """

    site_id: str | None
    zone_ids: frozenset[str] | None = None
    every: bool = False
    record: str | None = None

    def describe(self) -> str:
        """Return where this is, in words."""
        if self.every or self.site_id is None:
            return "for every site"
        if self.zone_ids:
            zones = "zones" if len(self.zone_ids) > 1 else "zone"
            return f"at site {self.site_id!r} in {zones} {', '.join(sorted(self.zone_ids))}"
        return f"at site {self.site_id!r}"


EVERY_SITE = Place(None, every=True)


def loaded_sites(hub: Hub) -> dict[str, Site]:
    """Return the site models loaded on the hub by id."""
    sites: dict[str, Site] = hub.extras.get("sites", {})
    return sites


def only_site(hub: Hub) -> str:
    """Return the id of the only loaded site; raise when there is none or several."""
    sites = loaded_sites(hub)
    if len(sites) == 1:
        return next(iter(sites))
    if not sites:
        raise NotFound("no site is loaded; import one with 'bastion site import FILE'")
    raise InvalidInput("several sites are loaded; say which with site_id")


async def body_value(request: Request, field: str) -> Any:
    """Return ``field`` (dotted) of the raw request body, or None when it is not there.

    Reads what Starlette already holds: JSON, a urlencoded or multipart form, or YAML
    (any other content type).
    A body that does not parse has no fields; validation of the route reports it.
    """
    content_type = request.headers.get("content-type", "")
    data: Any
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        data = dict((await request.form()).items())
    else:
        raw = await request.body()
        if not raw:
            return None
        try:
            data = json.loads(raw) if "json" in content_type else yamlbounds.safe_load(raw)
        except yamlbounds.TooLarge as exc:
            raise InvalidInput(f"the body is {exc.problem}") from None
        except (ValueError, yaml.YAMLError, RecursionError):
            return None  # JSON nested past the parser's stack too: the route's parser explains
    for part in field.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _text(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: give a text value")
    return value


class SiteSource:
    """Where a guard finds the place of a request."""

    kind: ClassVar[str] = ""
    names: tuple[str, ...] = ()
    """The path, query or body names this source reads (for the structural test)."""

    async def place(self, request: Request, hub: Hub) -> Place | None:
        """Return the place the request acts on, or None when the route filters by site."""
        raise NotImplementedError


class _Named(SiteSource):
    """A site id named in one request parameter."""

    def __init__(self, name: str, *, missing: Missing = Missing.REQUIRED) -> None:
        self.name = name
        self.names = (name,)
        self.missing = missing

    def __repr__(self) -> str:
        extra = "" if self.missing is Missing.REQUIRED else f", missing={self.missing.value}"
        return f"{type(self).__name__}({self.name!r}{extra})"

    async def value(self, request: Request) -> str | None:
        """Return the raw site id from the request."""
        raise NotImplementedError

    async def place(self, request: Request, hub: Hub) -> Place | None:
        """Return the named site, or what its absence means."""
        site_id = _text(await self.value(request), self.name)
        if site_id is not None:
            return Place(site_id)
        return absent(self.missing, self.name, hub)


def absent(missing: Missing, name: str, hub: Hub) -> Place | None:
    """Return the place an absent ``name`` stands for."""
    if missing is Missing.EVERY_SITE:
        return EVERY_SITE
    if missing is Missing.ONLY_SITE:
        return Place(only_site(hub))
    if missing in (Missing.ANY_SITE, Missing.SKIP):
        return None
    raise InvalidInput(f"{name}: say which site")


class FromPath(_Named):
    """The site id in a path parameter."""

    kind = "path"

    async def value(self, request: Request) -> str | None:
        """Return the path parameter."""
        value = request.path_params.get(self.name)
        return value if isinstance(value, str) else None


class FromQuery(_Named):
    """The site id in a query parameter."""

    kind = "query"

    async def value(self, request: Request) -> str | None:
        """Return the query parameter."""
        return request.query_params.get(self.name)


class FromBody(_Named):
    """The site id in a field of the body (read raw, before validation)."""

    kind = "body"

    async def value(self, request: Request) -> Any:
        """Return the body field."""
        return await body_value(request, self.name)


@dataclass(frozen=True)
class Resource:
    """A kind of stored record and how to find its place.

    ``locate`` returns the record's place, or None when there is no such record; it
    runs in a worker thread with a read-only session.
    """

    name: str
    locate: Callable[[Session, Hub, str], Place | None]


class FromResource(SiteSource):
    """The site of the record a request names (its id in the path, query or body)."""

    kind = "resource"

    def __init__(
        self,
        name: str,
        resource: Resource,
        *,
        where: Literal["path", "query", "body"] = "path",
        missing: Missing = Missing.REQUIRED,
        new_ok: bool = False,
    ) -> None:
        self.name = name
        self.names = (name,)
        self.resource = resource
        self.where = where
        self.missing = missing
        self.new_ok = new_ok

    def __repr__(self) -> str:
        return f"FromResource({self.name!r}, {self.resource.name}, where={self.where!r})"

    async def _raw(self, request: Request) -> Any:
        if self.where == "path":
            return request.path_params.get(self.name)
        if self.where == "query":
            return request.query_params.get(self.name)
        return await body_value(request, self.name)

    async def place(self, request: Request, hub: Hub) -> Place | None:
        """Return the record's place; raise NotFound when there is none (unless new_ok)."""
        raw = await self._raw(request)
        value = _text(str(raw) if isinstance(raw, int) else raw, self.name)
        if value is None:
            return absent(self.missing, self.name, hub)

        def find() -> Place | None:
            with hub.db.sessions() as session:
                return self.resource.locate(session, hub, value)

        found = await run_in_threadpool(find)
        if found is None:
            if self.new_ok:
                return None
            raise NotFound(self.not_found(value))
        return Place(found.site_id, found.zone_ids, found.every, self.not_found(value))

    def not_found(self, value: str) -> str:
        """Return the answer for a record that is missing or out of the caller's sight."""
        return f"no {self.resource.name} {value!r}"


class AnySite(SiteSource):
    """A list or search: the route keeps only records of the caller's sites."""

    kind = "any"

    def __repr__(self) -> str:
        return "AnySite()"

    async def place(self, request: Request, hub: Hub) -> Place | None:
        """Return None: the permission held at any site lets the caller in."""
        return None


class EverySite(SiteSource):
    """Something that changes every site: only a grant for every site."""

    kind = "every"

    def __repr__(self) -> str:
        return "EverySite()"

    async def place(self, request: Request, hub: Hub) -> Place | None:
        """Return the place that stands for every site."""
        return EVERY_SITE


class Global(SiteSource):
    """Not about a site: the caller's own things, calculators, the shipped catalogue."""

    kind = "global"

    def __repr__(self) -> str:
        return "Global()"

    async def place(self, request: Request, hub: Hub) -> Place | None:
        """Return None: the permission held at any site is enough."""
        return None


SiteSpec = SiteSource | tuple[SiteSource, ...]


def sources_of(spec: SiteSpec | None) -> tuple[SiteSource, ...]:
    """Return the sources of a guard's ``site`` argument."""
    if spec is None:
        return ()
    return spec if isinstance(spec, tuple) else (spec,)


# --- zones ------------------------------------------------------------------------------------


class ZoneSource:
    """Where a guard finds the zones a request acts in (checked against zone-limited roles)."""

    names: tuple[str, ...] = ()

    async def zones(self, request: Request, hub: Hub, site_id: str) -> frozenset[str] | None:
        """Return the zones, or None for the site as a whole."""
        raise NotImplementedError


def _site_model(hub: Hub, site_id: str) -> Site | None:
    return loaded_sites(hub).get(site_id)


def door_zones(site: Site | None, door_id: str | None) -> frozenset[str] | None:
    """Return the zones a door connects (it belongs to both sides), or None if unknown."""
    if site is None or door_id is None:
        return None
    door = next((d for d in site.doors if d.id == door_id), None)
    if door is None:
        return None
    return frozenset({door.from_zone, door.to_zone} - {OUTSIDE})


def device_zones(site: Site | None, device_id: str | None) -> frozenset[str] | None:
    """Return the zone of a device, or the zones of the door it serves; None if unknown."""
    if site is None or device_id is None:
        return None
    device = next((d for d in site.devices if d.id == device_id), None)
    if device is None:
        return None
    if device.zone is not None:
        return frozenset({device.zone})
    return door_zones(site, device.door)


class _ZoneNamed(ZoneSource):
    def __init__(self, name: str) -> None:
        self.name = name
        self.names = (name,)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class ZoneFromPath(_ZoneNamed):
    """The zone id in a path parameter."""

    async def zones(self, request: Request, hub: Hub, site_id: str) -> frozenset[str] | None:
        """Return the named zone."""
        value = request.path_params.get(self.name)
        return frozenset({value}) if isinstance(value, str) and value else None


class ZoneFromBody(_ZoneNamed):
    """The zone id in a body field (absent: the site as a whole)."""

    async def zones(self, request: Request, hub: Hub, site_id: str) -> frozenset[str] | None:
        """Return the named zone."""
        value = _text(await body_value(request, self.name), self.name)
        return frozenset({value}) if value is not None else None


class DoorZones(_ZoneNamed):
    """The zones on both sides of the door named in a path parameter."""

    async def zones(self, request: Request, hub: Hub, site_id: str) -> frozenset[str] | None:
        """Return the door's zones."""
        return door_zones(_site_model(hub, site_id), request.path_params.get(self.name))


class DeviceZone(_ZoneNamed):
    """The zone of the device named in a path parameter."""

    async def zones(self, request: Request, hub: Hub, site_id: str) -> frozenset[str] | None:
        """Return the device's zone."""
        return device_zones(_site_model(hub, site_id), request.path_params.get(self.name))


def keep_sites(
    sites: frozenset[str] | None,
    rows: Iterable[Any],
    *,
    site: Callable[[Any], str | None],
    site_less: bool,
) -> list[Any]:
    """Return the rows of ``sites`` (None: all); rows of no site only when ``site_less``."""
    if sites is None:
        return list(rows)
    kept = []
    for row in rows:
        where = site(row)
        if (where is None and site_less) or (where is not None and where in sites):
            kept.append(row)
    return kept
