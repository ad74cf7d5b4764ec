"""The kinds of stored record a route may name by id, and the site each belongs to.

One place for the rule of every domain (used with ``FromResource``):

* alarms and incidents belong to the site they were raised at and to their zone;
  alarms of no site (an account locked out, a platform fault) are seen and worked
  only with a grant for every site;
* people belong to their home site; someone enrolled for every site (no home site)
  is read at any site and changed only with a grant for every site. Their
  credentials and offboardings follow them;
* access levels, visits, call-tree and notification runs, playbook runs and API
  tokens belong to their site; those of no site follow the rule for people;
* contacts, message templates and the visitor watchlist are shared by every site:
  read anywhere, changed only with a grant for every site.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.access.models import AccessLevel, Credential
from bastion.alarms.models import Alarm, Incident
from bastion.api.scope import EVERY_SITE, Place, Resource
from bastion.auth.models import ApiToken
from bastion.automation.playbooks.models import PlaybookRun
from bastion.hub import Hub
from bastion.notify.models import CallTree, Contact, Run, Template
from bastion.people.models import Offboarding, Person, Visit, WatchlistEntry
from bastion.store.base import Base


def alarm_place(alarm: Alarm) -> Place:
    """Return where an alarm belongs: its site and zone (every site when it has no site)."""
    if alarm.site_id is None:
        return EVERY_SITE
    return Place(alarm.site_id, frozenset({alarm.zone_id}) if alarm.zone_id else None)


def _alarm(session: Session, hub: Hub, alarm_id: str) -> Place | None:
    alarm = session.get(Alarm, alarm_id)
    return None if alarm is None else alarm_place(alarm)


def _incident(session: Session, hub: Hub, incident_id: str) -> Place | None:
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    return EVERY_SITE if incident.site_id is None else Place(incident.site_id)


def _person_place(person: Person | None) -> Place | None:
    return None if person is None else Place(person.site_id)


def _person(session: Session, hub: Hub, person_id: str) -> Place | None:
    return _person_place(session.get(Person, person_id))


def _credential(session: Session, hub: Hub, credential_id: str) -> Place | None:
    credential = session.get(Credential, credential_id)
    if credential is None:
        return None
    return _person_place(session.get(Person, credential.person_id))


def _offboarding(session: Session, hub: Hub, offboarding_id: str) -> Place | None:
    row = session.get(Offboarding, offboarding_id)
    if row is None:
        return None
    return _person_place(session.get(Person, row.person_id)) or Place(None)


def _level(session: Session, hub: Hub, level_id: str) -> Place | None:
    level = session.get(AccessLevel, level_id)
    return None if level is None else Place(level.site_id)


def _visit(session: Session, hub: Hub, visit_id: str) -> Place | None:
    visit = session.get(Visit, visit_id)
    return None if visit is None else Place(visit.site_id)


def _call_tree(session: Session, hub: Hub, tree: str) -> Place | None:
    row = session.get(CallTree, tree) or session.scalar(
        select(CallTree).where(CallTree.name == tree)
    )
    return None if row is None else Place(row.site_id)


def _notify_run(session: Session, hub: Hub, run_id: str) -> Place | None:
    run = session.get(Run, run_id)
    return None if run is None else Place(run.site_id)


def run_place(site_id: str | None, zone_id: str | None) -> Place:
    """Return where a playbook run belongs: its site, and its zone when it names one."""
    return Place(site_id, frozenset({zone_id}) if zone_id else None)


def _playbook_run(session: Session, hub: Hub, run_id: str) -> Place | None:
    run = session.get(PlaybookRun, run_id)
    return None if run is None else run_place(run.site_id, run.zone_id)


def _token(session: Session, hub: Hub, token_id: str) -> Place | None:
    if not token_id.isdigit():
        return None
    token = session.get(ApiToken, int(token_id))
    return None if token is None else Place(token.site_id)


def _shared(model: type[Base]) -> Callable[[Session, Hub, str], Place | None]:
    """Return the locator of a record shared by every site."""

    def locate(session: Session, hub: Hub, record_id: str) -> Place | None:
        return None if session.get(model, record_id) is None else Place(None)

    return locate


ALARM = Resource("alarm", _alarm)
INCIDENT = Resource("incident", _incident)
PERSON = Resource("person", _person)
CREDENTIAL = Resource("credential", _credential)
OFFBOARDING = Resource("offboarding", _offboarding)
LEVEL = Resource("access level", _level)
VISIT = Resource("visit", _visit)
CALL_TREE = Resource("call tree", _call_tree)
NOTIFY_RUN = Resource("call-tree run", _notify_run)
PLAYBOOK_RUN = Resource("playbook run", _playbook_run)
API_TOKEN = Resource("API token", _token)
CONTACT = Resource("contact", _shared(Contact))
TEMPLATE = Resource("template", _shared(Template))
WATCHLIST_ENTRY = Resource("watchlist entry", _shared(WatchlistEntry))
