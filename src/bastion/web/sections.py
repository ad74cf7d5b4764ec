"""Console sections beyond alarms and the map: incidents, rules and reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from bastion.alarms import service as alarms_service
from bastion.api.deps import Principal, Require, SessionDep, get_hub
from bastion.api.scope import AnySite, Global
from bastion.auth.permissions import Permission
from bastion.automation import service as automation_service
from bastion.automation.config import RuleConfig, rule_to_dict
from bastion.hub import Hub
from bastion.search.reports import REPORTS
from bastion.web.dashboard import events_chart, reaction_chart, zone_chart
from bastion.web.readmodel import loaded_sites
from bastion.web.render import page

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]


@router.get("/console/incidents", response_class=HTMLResponse)
def incidents_page(
    request: Request,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.ALARMS_READ, site=AnySite()))],
) -> HTMLResponse:
    """List incidents, newest activity first, each with the alarms correlated into it."""
    incidents = alarms_service.list_incidents(
        session=session, limit=100, site_ids=principal.sites_with(Permission.ALARMS_READ)
    )
    rows = [
        {
            "incident": i,
            "alarms": alarms_service.alarms_of_incident(session=session, incident_id=i.id),
        }
        for i in incidents
    ]
    zones = {z.id: z.name for s in loaded_sites(hub).values() for z in s.zones}
    return page(request, "incidents.html", principal, {"rows": rows, "zone_names": zones})


def _rules(hub: Hub, session: Any) -> list[RuleConfig]:
    runtime = hub.extras.get("automation")
    if runtime is not None:
        rules: list[RuleConfig] = runtime.all_rules()
        return rules
    return automation_service.stored_rules(session=session)


def _describe(part: dict[str, Any], kind_key: str) -> str:
    """Return ``kind: key=value, …`` for a trigger, condition or action."""
    kind = part.get(kind_key, "?")
    rest = ", ".join(
        f"{k}={v}" for k, v in part.items() if k != kind_key and v not in (None, "", [], {})
    )
    return f"{kind}: {rest}" if rest else str(kind)


@router.get("/console/rules", response_class=HTMLResponse)
def rules_page(
    request: Request,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.RULES_READ, site=Global()))],
) -> HTMLResponse:
    """List the automation rules (files and database) and their latest runs."""
    rules = []
    for rule in _rules(hub, session):
        raw = rule_to_dict(rule)
        rules.append(
            {
                "rule": rule,
                "triggers": [_describe(t, "kind") for t in raw["triggers"]],
                "conditions": [_describe(c, "condition") for c in raw["conditions"]],
                "actions": [_describe(a, "action") for a in raw["actions"]],
            }
        )
    traces = automation_service.list_traces(session=session, limit=25)
    return page(
        request,
        "rules.html",
        principal,
        {
            "rules": rules,
            "traces": traces,
            "running": hub.extras.get("automation") is not None,
            "can_manage": principal.sites_with(Permission.RULES_MANAGE) is None,
        },
    )


@router.get("/console/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: SessionDep,
    hub: HubDep,
    principal: Annotated[Principal, Depends(Require(Permission.REPORTS_READ, site=AnySite()))],
) -> HTMLResponse:
    """Show the caller's sites' charts, reaction-time figures and where the records are."""
    since = hub.clock.now() - timedelta(days=30)
    sites = principal.sites_with(Permission.REPORTS_READ)
    return page(
        request,
        "reports.html",
        principal,
        {
            "events_chart": events_chart(hub, request, principal),
            "zone_chart": zone_chart(hub, principal),
            "reaction_chart": reaction_chart(hub, principal, limit=15),
            "stats": alarms_service.reaction_stats(session=session, since=since, site_ids=sites),
            "saved_reports": REPORTS,
        },
    )
