"""Direct notices to a person (training expiry, a visitor arriving) over their notify contact.

A person links to a notification contact; a notice goes out over that contact's
channels in order of preference through notify's Apprise sending service, and the
outcome (contact id and channel kind only, never the address) is staged in the
ledger. Planning reads the database; sending is blocking and must run in a worker
thread or a background task, never in the event loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bastion.core.context import Context
from bastion.core.events import EVENT_PEOPLE_NOTICE, PeopleNoticePayload, make_event
from bastion.notify import channels
from bastion.notify.models import Contact
from bastion.people.models import Person
from bastion.store.ledger import stage

_LOGGER = logging.getLogger(__name__)


@dataclass
class Notice:
    """One message to one person, with the channels to try (addresses stay in memory)."""

    subject: str
    notice: str
    recipient: str
    title: str
    body: str
    contact_id: str | None = None
    routes: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        return f"Notice(notice={self.notice!r}, subject={self.subject!r}, to={self.recipient!r})"


def plan(
    *, session: Session, subject: str, notice: str, recipient: Person, title: str, body: str
) -> Notice:
    """Return a notice to ``recipient`` over their linked, active contact's channels."""
    item = Notice(subject=subject, notice=notice, recipient=recipient.id, title=title, body=body)
    if recipient.contact_id is None:
        return item
    contact = session.get(Contact, recipient.contact_id)
    if contact is None or not contact.active:
        return item
    item.contact_id = contact.id
    item.routes = [(c.kind, c.url) for c in contact.channels]
    return item


def _record(
    session: Session,
    item: Notice,
    outcome: str,
    kind: str | None,
    detail: str,
    context: Context,
    now: datetime,
) -> None:
    stage(
        session,
        make_event(
            EVENT_PEOPLE_NOTICE,
            PeopleNoticePayload(
                subject=item.subject,
                notice=item.notice,
                recipient=item.recipient,
                contact_id=item.contact_id,
                channel_kind=kind,
                outcome=outcome,
                detail=detail[:300],
            ),
            context=context,
            time=now,
        ),
    )


def send(item: Notice) -> tuple[str, str | None, str]:
    """Send over each channel until one succeeds; return (outcome, channel kind, detail).

    Blocking: run it in a worker thread.
    """
    if not item.routes:
        return "no_contact", None, "no active notification contact is linked"
    reasons = []
    for kind, url in item.routes:
        result = channels.send(url, title=item.title, body=item.body)
        if result.ok:
            return "delivered", kind, ""
        reasons.append(result.detail)
    return "failed", item.routes[-1][0], "; ".join(reasons)


def deliver(hub: Any, items: list[Notice], context: Context) -> list[str]:
    """Send every notice and record each outcome in the ledger; return the outcomes.

    Blocking: run it in a worker thread (or a FastAPI background task).
    """
    outcomes = []
    results = []
    for item in items:
        try:
            outcome, kind, detail = send(item)
        except Exception:  # a broken channel must not stop the other notices
            _LOGGER.exception("sending a %s notice failed", item.notice)
            outcome, kind, detail = "failed", None, "the channel raised an error"
        results.append((item, outcome, kind, detail))
        outcomes.append(outcome)
    if results:
        with hub.unit_of_work() as session:
            now = hub.clock.now()
            for item, outcome, kind, detail in results:
                _record(session, item, outcome, kind, detail, context, now)
    return outcomes
