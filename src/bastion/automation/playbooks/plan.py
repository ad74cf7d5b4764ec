"""The emergency plan of a site: what the site model lacks (alarm company, hazards, key holders).

One small YAML file per site, read from ``<data_dir>/emergency/<site_id>.yaml`` (the
shipped example is the fallback for the example dispensary). Validation is strict and
errors name the file, line and field.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bastion.automation.config import _LineLoader, _validate
from bastion.core.errors import ConfigError
from bastion.site.schemas import Site

SHIPPED_PLANS = Path(__file__).with_name("plans")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Agency(_Strict):
    """An emergency service or company to call."""

    name: str = Field(default="", max_length=200, title="Name", description="Company name.")
    agency: str = Field(default="", max_length=200, title="Agency", description="Department.")
    phone: str = Field(min_length=1, max_length=64, title="Phone", description="Number to call.")
    non_emergency: str = Field(default="", max_length=64, title="Non-emergency", description="")
    account: str = Field(default="", max_length=64, title="Account", description="Account no.")
    notes: str = Field(default="", max_length=1000, title="Notes", description="Anything else.")

    @property
    def label(self) -> str:
        """Return the name to print."""
        return self.name or self.agency or "—"


class KeyHolder(_Strict):
    """Someone who can open the site for responders."""

    name: str = Field(min_length=1, max_length=200, title="Name", description="Name or post.")
    role: str = Field(default="", max_length=64, title="Role", description="e.g. manager.")
    phone: str = Field(min_length=1, max_length=64, title="Phone", description="Reachable 24/7.")
    email: str = Field(default="", max_length=200, title="Email", description="Optional.")


class Place(_Strict):
    """A hazard, muster point or utility shut-off, optionally in a zone of the site."""

    name: str = Field(min_length=1, max_length=200, title="Name", description="What it is.")
    zone: str | None = Field(default=None, max_length=63, title="Zone", description="Zone id.")
    description: str = Field(default="", max_length=1000, title="Description", description="")


class EmergencyPlan(_Strict):
    """The emergency plan of one site."""

    version: int = Field(default=1, title="Version", description="File format.")
    site: str = Field(min_length=1, max_length=63, title="Site", description="Site id.")
    alarm_company: Agency | None = Field(default=None, title="Alarm company", description="")
    police: Agency | None = Field(default=None, title="Police", description="")
    fire_department: Agency | None = Field(default=None, title="Fire department", description="")
    key_holders: tuple[KeyHolder, ...] = Field(default=(), title="Key holders", description="")
    muster_points: tuple[Place, ...] = Field(default=(), title="Muster points", description="")
    hazards: tuple[Place, ...] = Field(default=(), title="Hazards", description="")
    utilities: tuple[Place, ...] = Field(default=(), title="Utilities", description="Shut-offs.")
    notes: str = Field(default="", max_length=4000, title="Notes", description="")


def parse_plan(text: str, *, source: str = "<string>", site: Site | None = None) -> EmergencyPlan:
    """Parse and check an emergency plan (zones must exist at ``site`` when given)."""
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            file=source,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    if not isinstance(data, dict):
        raise ConfigError("an emergency plan holds a mapping", file=source)
    plan: EmergencyPlan = _validate(EmergencyPlan, data, source, "plan")
    if plan.version != 1:
        raise ConfigError(f"unsupported version {plan.version!r}", file=source, field="version")
    if site is not None:
        verify_plan_zones(plan, site, source=source)
    return plan


def verify_plan_zones(plan: EmergencyPlan, site: Site, *, source: str | None = None) -> None:
    """Reject a plan for another site or naming zones the site does not have."""
    if plan.site != site.site.id:
        raise ConfigError(
            f"the plan is for site {plan.site!r}, not {site.site.id!r}", file=source, field="site"
        )
    known = {z.id for z in site.zones}
    for group in ("hazards", "muster_points", "utilities"):
        for i, place in enumerate(getattr(plan, group)):
            if place.zone is not None and place.zone not in known:
                raise ConfigError(
                    f"unknown zone {place.zone!r} (zones: {', '.join(sorted(known))})",
                    file=source,
                    field=f"{group}.{i}.zone",
                )


def plan_path(data_dir: Path, site_id: str) -> Path:
    """Return where the site's emergency plan is looked for first."""
    return data_dir / "emergency" / f"{site_id}.yaml"


def load_plan(data_dir: Path, site: Site) -> EmergencyPlan | None:
    """Return the site's plan from the data directory, else the shipped example, else None."""
    for path in (plan_path(data_dir, site.site.id), SHIPPED_PLANS / f"{site.site.id}.yaml"):
        if path.is_file():
            return parse_plan(path.read_text(encoding="utf-8"), source=str(path), site=site)
    return None
