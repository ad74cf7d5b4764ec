"""Card and face at the vault door: the real access engine, Frigate-shaped MQTT on Mosquitto.

Alice and Bob hold cards and a level for the vault door; their faces are enrolled (with
consent) under the names Frigate's face library uses. The vault door needs the
cardholder's face on ``cam-vault-1`` within 10 s of the card.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from bastion.access.cards import CardData
from bastion.access.runtime import start_access, stop_access
from bastion.access.service import issue_credential, put_level
from bastion.access.snapshot import LevelSpec
from bastion.alarms.models import Alarm
from bastion.alarms.runtime import start_alarms
from bastion.core.context import Context
from bastion.integrations import create
from bastion.people import employees
from bastion.site import service as site_service
from bastion.video import service
from bastion.video.models import BiometricEnrolment
from bastion.video.runtime import VideoRuntime
from bastion.video.schemas import EnrolmentWrite, FaceDoorWrite
from tests.monitoring_support import publish_raw, wait_until

CTX = Context(actor="user:manager")
DOOR = "dispensary-main/vault-door"


def _seed(hub, site) -> dict[str, str]:
    now = hub.clock.now()
    ids: dict[str, str] = {}
    with hub.unit_of_work() as session:
        site_service.import_site(session=session, site=site, context=CTX, now=now)
        level = put_level(
            session=session,
            spec=LevelSpec(id="vault", site_id=site.site.id, doors=("vault-door",)),
            name="Vault",
            context=CTX,
            now=now,
        )
        for name, face in (("Alice Moreau", "alice"), ("Bob Lindqvist", "bob")):
            person = employees.hire(
                session=session, name=name, site_id=site.site.id, context=CTX, now=now
            )
            employees.record_background_check(
                session=session,
                person_id=person.id,
                status="cleared",
                checked_on=now.date(),
                reference="BG-1",
                context=CTX,
                now=now,
            )
            employees.grant_level(
                session=session, person_id=person.id, level_id=level.id, context=CTX, now=now
            )
            card = issue_credential(
                session=session,
                person_id=person.id,
                kind="card",
                card=CardData(f"card-{face}", "raw", None),
                hasher=hub.hash_credential,
                context=CTX,
                now=now,
            )
            service.enrol(
                session=session,
                site_id=site.site.id,
                data=EnrolmentWrite(person_id=person.id, kind="face", reference=face, consent=True),
                context=CTX,
                now=now,
            )
            ids[face] = card.id
        service.put_face_door(
            session=session,
            site=site,
            door_id="vault-door",
            data=FaceDoorWrite(camera_id="cam-vault-1", window_s=10),
            context=CTX,
            now=now,
        )
    return ids


def _face_update(name: str, score: float) -> str:
    return json.dumps(
        {
            "type": "face",
            "id": "1700000000.1-abc",
            "name": name,
            "score": score,
            "camera": "vault_entrance",
            "timestamp": 1700000000.1,
        }
    )


async def test_card_and_face_of_the_same_person_opens_the_vault_and_a_mismatch_alarms(
    hub, site, broker, prefix, recorder, clock
):
    cards = _seed(hub, site)
    engine = start_access(hub)
    alarms = await start_alarms(hub, tick_s=None)
    video = VideoRuntime(hub)
    hub.extras["video"] = video
    await video.start()
    integration, config = create(
        {
            "type": "frigate_faces",
            "site_id": site.site.id,
            "topic_prefix": prefix,
            "client_id": f"ff-{prefix[-8:]}",
            "cameras": {"vault_entrance": "cam-vault-1"},
        }
    )
    await integration.setup(hub, config)
    try:
        await wait_until(integration.connection.connected.is_set)
        alice = engine.presentation_for(cards["alice"], DOOR)
        bob = engine.presentation_for(cards["bob"], DOOR)

        no_face = engine.decide(alice)
        assert not no_face.granted and no_face.reason == "face_required" and no_face.pending

        await publish_raw(f"{prefix}/tracked_object_update", _face_update("alice", 0.91))
        await wait_until(lambda: len(recorder.of("video.face")) == 1)
        clock.advance(2)
        granted = engine.decide(alice)
        assert granted.granted and granted.person_id is not None

        mismatch = engine.decide(bob)
        assert not mismatch.granted and mismatch.reason == "face_mismatch"

        # Frigate's sub_label [name, score] on frigate/events names Bob: now Bob may pass.
        after = {"camera": "vault_entrance", "sub_label": ["bob", 0.88], "frame_time": 1.0}
        await publish_raw(f"{prefix}/events", json.dumps({"type": "update", "after": after}))
        await wait_until(lambda: len(recorder.of("video.face")) == 2)
        assert engine.decide(bob).granted

        clock.advance(30)  # every face is now older than the 10 s window
        assert engine.decide(alice).reason == "face_required"

        await wait_until(lambda: len(alarms.raised) == 1)
    finally:
        await integration.unload()
        await video.stop()
        await alarms.stop()
        await stop_access(hub)
    with hub.db.sessions() as session:
        raised = session.scalars(select(Alarm)).all()
        stored = session.scalars(select(BiometricEnrolment)).all()
    assert [a.alarm_type for a in raised] == ["face_mismatch"]
    assert all(e.kind == "face" and e.reference in ("alice", "bob") for e in stored)
    faces = recorder.of("video.face")
    assert all("alice" not in f.payload_json() and "bob" not in f.payload_json() for f in faces)


async def test_a_stranger_frigate_knows_by_name_is_a_mismatch_and_bad_messages_are_dropped(
    hub, site, broker, prefix, recorder, clock
):
    cards = _seed(hub, site)
    engine = start_access(hub)
    video = VideoRuntime(hub)
    hub.extras["video"] = video
    await video.start()
    integration, config = create(
        {
            "type": "frigate_faces",
            "site_id": site.site.id,
            "topic_prefix": prefix,
            "client_id": f"fs-{prefix[-8:]}",
            "cameras": {"vault_entrance": "cam-vault-1"},
        }
    )
    await integration.setup(hub, config)
    try:
        await wait_until(integration.connection.connected.is_set)
        await publish_raw(f"{prefix}/tracked_object_update", b"{not json")
        await publish_raw(f"{prefix}/tracked_object_update", _face_update("x" * 500, 0.9))
        await publish_raw(f"{prefix}/tracked_object_update", _face_update("unknown", 0.9))
        await publish_raw(f"{prefix}/tracked_object_update", _face_update("mallory", 0.97))
        await wait_until(lambda: len(recorder.of("video.face")) == 1)
        verdict = engine.decide(engine.presentation_for(cards["alice"], DOOR))
        assert verdict.reason == "face_mismatch"
        assert integration.rejected == 1
    finally:
        await integration.unload()
        await video.stop()
        await stop_access(hub)
