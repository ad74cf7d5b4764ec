"""What rules and playbooks name, checked in one place against the site and the notify store.

Each trigger, condition and action lists the names it uses as :class:`Ref` items (its
``references()``); rules and playbooks put the field paths in front, and
:func:`find_problems` resolves them against a :class:`Catalog`: the loaded sites and, when
a database is at hand, the call trees and templates of the notification store. A name
that nothing has is an error; a part of the catalog that is not known (no site given,
no database) is left unchecked, and :meth:`Catalog.unchecked` says so.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy.orm import Session

from bastion.core.errors import ConfigError
from bastion.notify import service as notify_service
from bastion.notify import templates as tpl
from bastion.site.schemas import DeviceType, Site

RefKind = Literal[
    "site", "zone", "door", "device", "sensor", "camera", "preset", "call_tree", "role", "template"
]
_NOT_SENSORS = frozenset({DeviceType.CAMERA, DeviceType.READER})


@dataclass(frozen=True, slots=True)
class Ref:
    """One name a configuration uses, with the dotted field it is written in."""

    kind: RefKind
    value: str
    field: str
    camera: str | None = None
    """For a preset: the camera it must belong to."""
    site: str | None = None
    """The site the name must exist at; None means any loaded site."""

    def under(self, prefix: str) -> Ref:
        """Return the reference with ``prefix`` put in front of its field."""
        return replace(self, field=f"{prefix}.{self.field}" if self.field else prefix)


def prefixed(prefix: str, refs: Iterable[Ref]) -> list[Ref]:
    """Put ``prefix`` in front of the field of every reference."""
    return [ref.under(prefix) for ref in refs]


@dataclass(frozen=True)
class Catalog:
    """What references may name; ``None`` for a part means it is not known here."""

    sites: Mapping[str, Site] = field(default_factory=dict)
    call_trees: Mapping[str, str | None] | None = None
    """Call tree id or name → why nobody would be reached (None when someone would)."""
    templates: frozenset[str] | None = None

    def unchecked(self) -> list[str]:
        """Return the kinds of reference this catalog cannot check, in plain words."""
        missing = []
        if not self.sites:
            missing.append("doors, zones, cameras and sensors (no site)")
        if self.call_trees is None:
            missing.append("call trees (no database)")
        return missing

    def with_templates(self, extra: Iterable[str]) -> Catalog:
        """Return the catalog with more template ids (a playbook's inline ones)."""
        if self.templates is None:
            return self
        return replace(self, templates=self.templates | frozenset(extra))


def shipped_templates() -> frozenset[str]:
    """Return the ids of the message templates shipped with Bastion."""
    return frozenset(str(t["id"]) for t in tpl.load_template_file())


def offline_catalog(sites: Mapping[str, Site]) -> Catalog:
    """Return a catalog of ``sites`` and the shipped templates, without the notify store."""
    return Catalog(sites=dict(sites), templates=shipped_templates())


def catalog_from_store(*, session: Session, sites: Mapping[str, Site]) -> Catalog:
    """Return a catalog of ``sites`` and of the call trees and templates in the database."""
    trees: dict[str, str | None] = {}
    for tree in notify_service.list_trees(session=session):
        problem = notify_service.tree_problem(session=session, tree=tree.id)
        trees[tree.id] = trees[tree.name] = problem
    stored = {t.id for t in notify_service.list_templates(session=session)}
    return Catalog(sites=dict(sites), call_trees=trees, templates=shipped_templates() | stored)


def _hint(value: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _ids(site: Site, kind: str) -> dict[str, DeviceType | None]:
    if kind == "zone":
        return {z.id: None for z in site.zones}
    if kind == "door":
        return {d.id: None for d in site.doors}
    return {d.id: d.type for d in site.devices}


def _site_problem(ref: Ref, sites: Sequence[Site]) -> str | None:
    """Return why ``ref`` names nothing at any of ``sites`` (None when one has it)."""
    known: set[str] = set()
    wrong_type: DeviceType | None = None
    for site in sites:
        ids = _ids(site, ref.kind)
        known |= set(ids)
        if ref.value not in ids:
            continue
        kind = ids[ref.value]
        if ref.kind == "camera" and kind is not DeviceType.CAMERA:
            wrong_type = kind
            continue
        if ref.kind == "sensor" and kind in _NOT_SENSORS:
            wrong_type = kind
            continue
        return None
    if wrong_type is not None:
        shown = wrong_type.value.replace("_", " ")
        return f"device {ref.value!r} is not a {ref.kind} (it is a {shown} device)"
    where = f"site {sites[0].site.id!r} has no" if len(sites) == 1 else "no loaded site has a"
    noun = "device" if ref.kind in ("sensor", "camera") else ref.kind
    return f"{where} {noun} {ref.value!r}{_hint(ref.value, known)}"


def _preset_problem(ref: Ref, sites: Sequence[Site]) -> str | None:
    """Return why the camera has no such preset (a missing camera is its own reference's)."""
    presets: set[str] = set()
    found = False
    for site in sites:
        try:
            camera = site.device(ref.camera or "")
        except KeyError:
            continue
        found = True
        if ref.value in camera.ptz_presets:
            return None
        presets |= set(camera.ptz_presets)
    if not found:
        return None
    if not presets:
        return f"camera {ref.camera!r} has no preset {ref.value!r} (it has no PTZ presets)"
    return (
        f"camera {ref.camera!r} has no preset {ref.value!r} (presets: {', '.join(sorted(presets))})"
    )


def _tree_problem(ref: Ref, trees: Mapping[str, str | None], *, reachability: bool) -> str | None:
    if ref.value not in trees:
        hint = _hint(ref.value, trees)
        if ref.kind == "role":
            return (
                f"no call tree {ref.value!r}{hint}: a role under 'roles' starts the call tree "
                "of the same name"
            )
        return f"call tree {ref.value!r} does not exist{hint}"
    problem = trees[ref.value]
    return problem if reachability else None


def _problem(ref: Ref, catalog: Catalog, *, reachability: bool) -> str | None:
    """Return why ``ref`` names nothing in ``catalog`` (None when it resolves or is unchecked)."""
    if ref.kind == "site":
        if catalog.sites and ref.value not in catalog.sites:
            return f"no site {ref.value!r} is loaded{_hint(ref.value, catalog.sites)}"
        return None
    if ref.kind in ("call_tree", "role"):
        if catalog.call_trees is None:
            return None
        return _tree_problem(ref, catalog.call_trees, reachability=reachability)
    if ref.kind == "template":
        if catalog.templates is None or ref.value in catalog.templates:
            return None
        return f"template {ref.value!r} does not exist{_hint(ref.value, catalog.templates)}"
    if ref.site is not None:
        # A site no catalog has is reported by the site's own reference.
        sites = [catalog.sites[ref.site]] if ref.site in catalog.sites else []
    else:
        sites = list(catalog.sites.values())
    if not sites:
        return None
    if ref.kind == "preset":
        return _preset_problem(ref, sites)
    return _site_problem(ref, sites)


def find_problems(
    refs: Iterable[Ref], catalog: Catalog, *, reachability: bool = True
) -> list[tuple[Ref, str]]:
    """Return each reference that names nothing in ``catalog``, with why, in order.

    With ``reachability`` a call tree that exists but would reach nobody is a problem too.
    """
    found: list[tuple[Ref, str]] = []
    for ref in refs:
        problem = _problem(ref, catalog, reachability=reachability)
        if problem is not None:
            found.append((ref, problem))
    return found


class ReferenceErrors(ConfigError):
    """Every unresolved reference of one check; the first one names the place."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        first = errors[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first.message + more, file=first.file, line=first.line, field=first.field)
        self.errors = tuple(errors)


def raise_all(errors: Sequence[ConfigError]) -> None:
    """Raise the errors together (nothing when there are none)."""
    if errors:
        raise ReferenceErrors(errors)
