"""Configuration-time checks: bad channels, empty trees, missing template variables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bastion.core.errors import ConfigError, Conflict, InvalidInput, NotFound
from bastion.notify import service
from bastion.notify.models import Run
from bastion.notify.runtime import start_call_tree
from bastion.notify.schemas import (
    CallTreeCreate,
    ChannelIn,
    ContactCreate,
    TemplateCreate,
    TierIn,
)
from bastion.notify.templates import load_template_file
from tests.notify.conftest import ACTOR


@pytest.mark.parametrize(
    ("kind", "url", "message"),
    [
        (
            "email",
            "mailto://127.0.0.1:2525?from=bastion@example.org&to=not-an-address",
            "invalid e-mail",
        ),
        ("email", "json://127.0.0.1/hook", "needs one of the schemes mailto, mailtos"),
        ("webhook", "mailto://127.0.0.1?to=a@example.com", "needs one of the schemes"),
        ("webhook", "json://", "not valid for Apprise"),
        ("chat", "slack://", "not valid for Apprise"),
        ("sms", "no scheme at all", "got 'no scheme'"),
    ],
)
def test_invalid_channel_is_rejected_at_configuration_time(
    notify_hub, add_contact, kind, url, message
):
    with pytest.raises(ConfigError, match=message) as caught:
        add_contact("Broken", (kind, url))
    assert "not-an-address" not in str(caught.value)
    with notify_hub.db.sessions() as session:
        assert service.list_contacts(session=session) == []


def test_valid_channel_kinds_are_accepted(add_contact, notify_hub):
    add_contact(
        "Many",
        ("email", "mailtos://user:pw@example.com?to=many@example.com"),
        ("sms", "twilio://AC1234567890123456789012345678901234:token@15551234567/15557654321"),
        ("chat", "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"),
        ("chat", "matrixs://user:pw@matrix.example.org/#security"),
        ("webhook", "jsons://hooks.example.org/bastion"),
        ("pa", "json://10.0.0.5/announce"),
    )
    with notify_hub.db.sessions() as session:
        [contact] = service.list_contacts(session=session)
        assert [c.kind for c in contact.channels] == [
            "email",
            "sms",
            "chat",
            "chat",
            "webhook",
            "pa",
        ]
        assert contact.channels[0].hint == "m•••@example.com"


def test_contact_without_channel_and_tree_without_people_are_rejected(
    notify_hub, add_contact, clock
):
    with pytest.raises(ValidationError):
        ContactCreate(name="Nobody", channels=[])
    with pytest.raises(ValidationError):
        CallTreeCreate(name="empty", tiers=[])
    with pytest.raises(ValidationError):
        TierIn(contacts=[])
    with notify_hub.unit_of_work() as session, pytest.raises(ConfigError, match="no contact"):
        service.create_tree(
            session=session,
            data=CallTreeCreate(name="ghosts", tiers=[TierIn(contacts=["ghost"])]),
            context=ACTOR,
            now=clock.now(),
        )
    with notify_hub.unit_of_work() as session, pytest.raises(ConfigError, match="at least one"):
        service.create_tree(
            session=session,
            data=CallTreeCreate.model_construct(
                name="bare", description="", site_id=None, tiers=[]
            ),
            context=ACTOR,
            now=clock.now(),
        )


def test_contact_in_a_tree_cannot_be_deleted(notify_hub, add_contact, add_tree, clock):
    gina = add_contact("Gina", ("webhook", "json://127.0.0.1/x"))
    add_tree("gina's", [gina])
    with notify_hub.unit_of_work() as session, pytest.raises(Conflict, match="gina's"):
        service.delete_contact(session=session, contact_id=gina, context=ACTOR, now=clock.now())


def test_template_with_an_undeclared_variable_is_rejected(notify_hub, clock):
    data = TemplateCreate(id="vault", title="Vault at {{ site }}", body="Code {{ vault_code }}")
    with notify_hub.unit_of_work() as session, pytest.raises(ConfigError, match="vault_code"):
        service.save_template(session=session, data=data, context=ACTOR, now=clock.now())
    broken = TemplateCreate(id="broken", title="{{ site ", body="x")
    with notify_hub.unit_of_work() as session, pytest.raises(ConfigError, match="syntax"):
        service.save_template(session=session, data=broken, context=ACTOR, now=clock.now())
    declared = data.model_copy(update={"variables": ["vault_code"]})
    with notify_hub.unit_of_work() as session:
        service.save_template(session=session, data=declared, context=ACTOR, now=clock.now())


async def test_missing_variable_at_start_is_an_error_before_anything_is_recorded(
    notify_hub, runtime, add_contact, add_tree, load_templates, webhook
):
    h = add_contact("H", ("webhook", webhook.url()))
    tree = add_tree("h", [h])
    with pytest.raises(InvalidInput, match="operator_note, zone"):
        await start_call_tree(
            notify_hub,
            tree_id=tree,
            template_id="armed_robbery",
            variables={"site": "Main"},
            context=ACTOR,
        )
    with pytest.raises(NotFound):
        await start_call_tree(
            notify_hub, tree_id="nope", template_id=None, variables={}, context=ACTOR, message="x"
        )
    await runtime.drain()
    with notify_hub.db.sessions() as session:
        assert session.query(Run).count() == 0
    assert webhook.posts == []


def test_shipped_templates_cover_every_scenario():
    ids = {t["id"] for t in load_template_file()}
    assert {
        "armed_robbery",
        "fire",
        "medical",
        "internal_theft",
        "bomb_threat",
        "active_shooter",
        "civil_unrest",
        "suspicious_item",
    } <= ids


def test_channel_input_never_prints_its_url():
    channel = ChannelIn(kind="email", url="mailto://h?to=secret@example.com")
    assert "secret@example.com" not in repr(channel)
