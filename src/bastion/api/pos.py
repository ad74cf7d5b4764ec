"""POS ingest routes: the JSON webhook and export uploads, read by the POS adapter's formats.

``POST /api/sites/{site_id}/cash/pos/transactions`` takes Bastion's JSON; ``POST
…/pos/import?format=bastion-csv|toast-payments`` takes an export file as the body. Both
need ``cash:ingest`` at the site (the ``pos`` role's API token). A batch is answered 200
with what was accepted, ignored as a duplicate and refused (refused records are kept for
review, with their reasons listed in the answer); nothing refused touches a balance.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from bastion.api.deps import Principal, Require, get_hub, run_unit_of_work
from bastion.api.scope import FromPath
from bastion.auth.permissions import Permission
from bastion.cash import pos
from bastion.cash import settings as cash_settings
from bastion.cash.runtime import clips_for, customer_key
from bastion.cash.schemas import IngestRead
from bastion.core.errors import InvalidInput
from bastion.hub import Hub
from bastion.integrations.pos.formats import (
    Parsed,
    read_bastion_csv,
    read_json,
    read_toast_payments,
)
from bastion.site import service as site_service

router = APIRouter(prefix="/api/sites/{site_id}/cash/pos", tags=["cash"])
HubDep = Annotated[Hub, Depends(get_hub)]
Ingester = Annotated[Principal, Depends(Require(Permission.CASH_INGEST, site=FromPath("site_id")))]
MAX_BODY = 64 * 1024 * 1024


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidInput("the upload is over 64 MB; send the export in parts")
    return body


async def _ingest(
    hub: Hub, principal: Principal, site_id: str, parsed: Parsed | None, source: str, text: str
) -> IngestRead:
    now = hub.clock.now()
    key = customer_key(hub)
    clips = clips_for(hub, site_id)

    def work(session: Session) -> IngestRead:
        site = site_service.get_site(session=session, site_id=site_id)
        result = parsed or _parse_csv(source, text, site.site.timezone)
        done = pos.ingest(
            session=session,
            site=site,
            records=result.records,
            rejects=result.rejects,
            source=source,
            context=principal.context(),
            now=now,
            settings=cash_settings.load(session=session, site_id=site_id),
            customer_key=key,
            clips=clips,
        )
        rows = pos.list_rejections(session=session, site_id=site_id, limit=done.rejected)
        return IngestRead(
            batch_id=done.batch_id,
            accepted=done.accepted,
            duplicates=done.duplicates,
            rejected=done.rejected,
            exceptions=done.exceptions,
            form_8300=done.form_8300,
            rejections=[
                {"line": r.line, "id": r.pos_id or "", "reason": r.reason}
                for r in reversed(rows)
                if r.batch_id == done.batch_id
            ],
        )

    return await run_unit_of_work(hub, work)


def _parse_csv(source: str, text: str, timezone: str) -> Parsed:
    if source == "toast-payments":
        return read_toast_payments(text, timezone=timezone)
    return read_bastion_csv(text)


@router.post("/transactions", response_model=IngestRead)
async def webhook(site_id: str, request: Request, hub: HubDep, principal: Ingester) -> IngestRead:
    """Take a batch of transactions in Bastion's JSON (``{"transactions": [...]}``)."""
    raw = await _body(request)
    try:
        body: Any = json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise InvalidInput("the body is nested too deeply to be a batch of transactions") from None
    return await _ingest(hub, principal, site_id, read_json(body), "webhook", "")


@router.post("/import", response_model=IngestRead)
async def upload(
    site_id: str,
    request: Request,
    hub: HubDep,
    principal: Ingester,
    format: Literal["bastion-csv", "toast-payments"] = "bastion-csv",
) -> IngestRead:
    """Take an export file as the request body (Bastion CSV or Toast PaymentDetails.csv)."""
    raw = await _body(request)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the file is not UTF-8 text") from None
    return await _ingest(hub, principal, site_id, None, format, text)
