"""Contacts, call trees, templates and call-tree runs over HTTP (thin; logic in service).

Configuration reads need ``rules:read`` (channel addresses are never returned, only a
masked hint), changes need ``rules:manage``; starting, acknowledging on someone's
behalf and cancelling need ``notify:send``; run status needs ``events:read``.
Contacts and templates are shared by every site (read anywhere, changed with a grant
for every site); call trees and their runs belong to the tree's site. The
acknowledgement link is deliberately public: the recipient is not signed in and the
signature is the credential. Its GET only shows a confirmation button (link scanners
in mail and chat clients follow links), the POST acknowledges.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import HTMLResponse

from bastion.api.deps import Principal, Public, Require, SessionDep, get_hub
from bastion.api.resources import CALL_TREE, CONTACT, NOTIFY_RUN, TEMPLATE
from bastion.api.scope import AnySite, EverySite, FromBody, FromResource, Global, Missing
from bastion.auth.permissions import Permission
from bastion.core.errors import BastionError
from bastion.hub import Hub
from bastion.notify import service
from bastion.notify.runtime import ACK_PATH, runtime_for
from bastion.notify.schemas import (
    AckRequest,
    CallTreeCreate,
    CallTreeRead,
    CallTreeRun,
    CallTreeUpdate,
    ContactCreate,
    ContactRead,
    ContactUpdate,
    RecipientRead,
    StartRequest,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
)

router = APIRouter(tags=["notify"])
HubDep = Annotated[Hub, Depends(get_hub)]
SharedReader = Annotated[Principal, Depends(Require(Permission.RULES_READ, site=Global()))]
SharedManager = Annotated[Principal, Depends(Require(Permission.RULES_MANAGE, site=EverySite()))]
ContactManager = Annotated[
    Principal, Depends(Require(Permission.RULES_MANAGE, site=FromResource("contact_id", CONTACT)))
]
TemplateManager = Annotated[
    Principal,
    Depends(Require(Permission.RULES_MANAGE, site=FromResource("template_id", TEMPLATE))),
]
TreeLister = Annotated[Principal, Depends(Require(Permission.RULES_READ, site=AnySite()))]
TreeReader = Annotated[
    Principal, Depends(Require(Permission.RULES_READ, site=FromResource("tree_id", CALL_TREE)))
]
TreeManager = Annotated[
    Principal,
    Depends(
        Require(
            Permission.RULES_MANAGE,
            site=(
                FromResource("tree_id", CALL_TREE),
                FromBody("site_id", missing=Missing.SKIP),
            ),
        )
    ),
]
Sender = Annotated[
    Principal, Depends(Require(Permission.NOTIFY_SEND, site=FromResource("run_id", NOTIFY_RUN)))
]
RunLister = Annotated[Principal, Depends(Require(Permission.EVENTS_READ, site=AnySite()))]
RunReader = Annotated[
    Principal, Depends(Require(Permission.EVENTS_READ, site=FromResource("run_id", NOTIFY_RUN)))
]


# --- contacts ---------------------------------------------------------------------------------


@router.get("/api/notify/contacts", response_model=list[ContactRead])
def list_contacts(
    session: SessionDep,
    _: SharedReader,
    role: Annotated[str | None, Query(description="Only contacts with this role.")] = None,
) -> list[ContactRead]:
    """Return the contacts with masked channels."""
    return [
        ContactRead.model_validate(c) for c in service.list_contacts(session=session, role=role)
    ]


@router.post("/api/notify/contacts", response_model=ContactRead, status_code=201)
def create_contact(
    body: ContactCreate, session: SessionDep, hub: HubDep, who: SharedManager
) -> ContactRead:
    """Create a contact; every channel is checked now (kind, Apprise URL, addresses)."""
    contact = service.create_contact(
        session=session, data=body, context=who.context(), now=hub.clock.now()
    )
    return ContactRead.model_validate(contact)


@router.get("/api/notify/contacts/{contact_id}", response_model=ContactRead)
def read_contact(contact_id: str, session: SessionDep, _: SharedReader) -> ContactRead:
    """Return one contact with masked channels."""
    return ContactRead.model_validate(service.get_contact(session=session, contact_id=contact_id))


@router.patch("/api/notify/contacts/{contact_id}", response_model=ContactRead)
def update_contact(
    contact_id: str, body: ContactUpdate, session: SessionDep, hub: HubDep, who: ContactManager
) -> ContactRead:
    """Change a contact; a channel list replaces the old one."""
    contact = service.update_contact(
        session=session,
        contact_id=contact_id,
        data=body,
        context=who.context(),
        now=hub.clock.now(),
    )
    return ContactRead.model_validate(contact)


@router.delete("/api/notify/contacts/{contact_id}", status_code=204)
def delete_contact(
    contact_id: str, session: SessionDep, hub: HubDep, who: ContactManager
) -> Response:
    """Delete a contact that is in no call tree."""
    service.delete_contact(
        session=session, contact_id=contact_id, context=who.context(), now=hub.clock.now()
    )
    return Response(status_code=204)


# --- call trees -------------------------------------------------------------------------------


@router.get("/api/notify/trees", response_model=list[CallTreeRead])
def list_trees(session: SessionDep, principal: TreeLister) -> list[CallTreeRead]:
    """Return the call trees of the caller's sites (and those of no site) with their tiers."""
    trees = principal.visible(Permission.RULES_READ, service.list_trees(session=session))
    return [service.tree_read(session=session, tree=t) for t in trees]


@router.post("/api/notify/trees", response_model=CallTreeRead, status_code=201)
def create_tree(
    body: CallTreeCreate,
    session: SessionDep,
    hub: HubDep,
    who: Annotated[
        Principal,
        Depends(
            Require(Permission.RULES_MANAGE, site=FromBody("site_id", missing=Missing.EVERY_SITE))
        ),
    ],
) -> CallTreeRead:
    """Create a call tree; empty trees and tiers, unknown contacts are rejected."""
    tree = service.create_tree(
        session=session, data=body, context=who.context(), now=hub.clock.now()
    )
    return service.tree_read(session=session, tree=tree)


@router.get("/api/notify/trees/{tree_id}", response_model=CallTreeRead)
def read_tree(tree_id: str, session: SessionDep, _: TreeReader) -> CallTreeRead:
    """Return one call tree (by id or name)."""
    return service.tree_read(
        session=session, tree=service.get_tree(session=session, tree_id=tree_id)
    )


@router.patch("/api/notify/trees/{tree_id}", response_model=CallTreeRead)
def update_tree(
    tree_id: str, body: CallTreeUpdate, session: SessionDep, hub: HubDep, who: TreeManager
) -> CallTreeRead:
    """Change a call tree; tiers replace the old ones."""
    tree = service.update_tree(
        session=session, tree_id=tree_id, data=body, context=who.context(), now=hub.clock.now()
    )
    return service.tree_read(session=session, tree=tree)


@router.delete("/api/notify/trees/{tree_id}", status_code=204)
def delete_tree(tree_id: str, session: SessionDep, hub: HubDep, who: TreeManager) -> Response:
    """Delete a call tree (its past runs stay)."""
    service.delete_tree(
        session=session, tree_id=tree_id, context=who.context(), now=hub.clock.now()
    )
    return Response(status_code=204)


# --- templates --------------------------------------------------------------------------------


@router.get("/api/notify/templates", response_model=list[TemplateRead])
def list_templates(session: SessionDep, _: SharedReader) -> list[TemplateRead]:
    """Return every template."""
    return [TemplateRead.model_validate(t) for t in service.list_templates(session=session)]


@router.post("/api/notify/templates", response_model=TemplateRead, status_code=201)
def save_template(
    body: TemplateCreate, session: SessionDep, hub: HubDep, who: SharedManager
) -> TemplateRead:
    """Create or replace a template; an undeclared variable is rejected now."""
    row = service.save_template(
        session=session, data=body, context=who.context(), now=hub.clock.now()
    )
    return TemplateRead.model_validate(row)


@router.post("/api/notify/templates/defaults", response_model=list[TemplateRead])
def load_default_templates(
    session: SessionDep, hub: HubDep, who: SharedManager
) -> list[TemplateRead]:
    """Add the shipped scenario templates that are not defined yet."""
    rows = service.load_default_templates(
        session=session, context=who.context(), now=hub.clock.now()
    )
    return [TemplateRead.model_validate(r) for r in rows]


@router.get("/api/notify/templates/{template_id}", response_model=TemplateRead)
def read_template(template_id: str, session: SessionDep, _: SharedReader) -> TemplateRead:
    """Return one template."""
    return TemplateRead.model_validate(
        service.get_template(session=session, template_id=template_id)
    )


@router.patch("/api/notify/templates/{template_id}", response_model=TemplateRead)
def update_template(
    template_id: str, body: TemplateUpdate, session: SessionDep, hub: HubDep, who: TemplateManager
) -> TemplateRead:
    """Change a template; the result is checked as a whole."""
    row = service.update_template(
        session=session,
        template_id=template_id,
        data=body,
        context=who.context(),
        now=hub.clock.now(),
    )
    return TemplateRead.model_validate(row)


@router.delete("/api/notify/templates/{template_id}", status_code=204)
def delete_template(
    template_id: str, session: SessionDep, hub: HubDep, who: TemplateManager
) -> Response:
    """Delete a template."""
    service.delete_template(
        session=session, template_id=template_id, context=who.context(), now=hub.clock.now()
    )
    return Response(status_code=204)


# --- runs -------------------------------------------------------------------------------------


@router.post("/api/notify/runs", response_model=CallTreeRun, status_code=202)
async def start_run(
    body: StartRequest,
    hub: HubDep,
    who: Annotated[
        Principal,
        Depends(
            Require(Permission.NOTIFY_SEND, site=FromResource("tree", CALL_TREE, where="body"))
        ),
    ],
) -> CallTreeRun:
    """Start a call tree; returns at once while messages go out in the background."""
    return await runtime_for(hub).start_call_tree(
        tree_id=body.tree,
        template_id=body.template_id,
        variables=body.variables,
        context=who.context(),
        drill=body.drill,
        emergency=body.emergency,
        message=body.message,
    )


@router.get("/api/notify/runs", response_model=list[CallTreeRun])
def list_runs(
    session: SessionDep,
    principal: RunLister,
    active: Annotated[bool, Query(description="Only active runs.")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[CallTreeRun]:
    """Return the newest runs of the caller's sites with who has acknowledged."""
    sites = principal.sites_with(Permission.EVENTS_READ)
    rows = service.list_runs(session=session, active_only=active, limit=limit, site_ids=sites)
    return [service.run_status(session=session, run_id=r.id) for r in rows]


@router.get("/api/notify/runs/{run_id}", response_model=CallTreeRun)
def read_run(run_id: str, session: SessionDep, _: RunReader) -> CallTreeRun:
    """Return a run: recipients, deliveries per channel, and who has acknowledged."""
    return service.run_status(session=session, run_id=run_id)


@router.post(
    "/api/notify/runs/{run_id}/recipients/{recipient_id}/acknowledge",
    response_model=RecipientRead,
)
def acknowledge(
    run_id: str,
    recipient_id: int,
    session: SessionDep,
    hub: HubDep,
    who: Sender,
    body: AckRequest | None = None,
) -> RecipientRead:
    """Acknowledge on a recipient's behalf (the console button, e.g. after a call back)."""
    recipient = service.acknowledge(
        session=session,
        run_id=run_id,
        recipient_id=recipient_id,
        method="console",
        actor=who.actor,
        context=who.context(),
        now=hub.clock.now(),
    )
    status = service.run_status(session=session, run_id=run_id)
    return next(r for r in status.recipients if r.id == recipient.id)


@router.post("/api/notify/runs/{run_id}/cancel", response_model=CallTreeRun)
def cancel_run(run_id: str, session: SessionDep, hub: HubDep, who: Sender) -> CallTreeRun:
    """Stop a run: no more messages and no escalation."""
    service.cancel_run(session=session, run_id=run_id, context=who.context(), now=hub.clock.now())
    return service.run_status(session=session, run_id=run_id)


# --- the public acknowledgement link ----------------------------------------------------------


def _page(title: str, text: str, *, status: int = 200, form: str | None = None) -> HTMLResponse:
    button = (
        f'<form method="post" action="{html.escape(form)}">'
        '<button type="submit">Acknowledge</button></form>'
        if form
        else ""
    )
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<meta name='referrer' content='no-referrer'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{button}</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


@router.get(ACK_PATH + "{token}", response_class=HTMLResponse, dependencies=[Depends(Public())])
def ack_page(token: str, session: SessionDep, hub: HubDep) -> HTMLResponse:
    """Show the message and an acknowledge button (GET never acknowledges)."""
    try:
        recipient = service.peek_link(session=session, token=token, now=hub.clock.now())
    except BastionError as exc:
        return _page("Acknowledgement", exc.message, status=exc.status_code)
    run = recipient.run
    if recipient.acknowledged_at is not None:
        return _page(run.title, "You have already acknowledged this message.")
    return _page(run.title, run.body, form=ACK_PATH + token)


@router.post(ACK_PATH + "{token}", response_class=HTMLResponse, dependencies=[Depends(Public())])
def ack_link(token: str, session: SessionDep, hub: HubDep) -> HTMLResponse:
    """Acknowledge through the signed one-time link."""
    try:
        recipient = service.acknowledge_link(session=session, token=token, now=hub.clock.now())
    except BastionError as exc:
        return _page("Acknowledgement", exc.message, status=exc.status_code)
    return _page(recipient.run.title, f"Thank you, {recipient.contact_name}: acknowledged.")
