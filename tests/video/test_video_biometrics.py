"""Biometric enrolment and the face second factor, without a broker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bastion.access.models import Credential
from bastion.access.reasons import Reason
from bastion.core.context import Context
from bastion.core.errors import InvalidInput
from bastion.people import employees
from bastion.site import service as site_service
from bastion.video import service
from bastion.video.biometrics import FaceDoor, FaceWitness
from bastion.video.models import BiometricEnrolment
from bastion.video.schemas import EnrolmentWrite

CTX = Context(actor="user:hr")


def test_the_witness_needs_the_cardholders_face_within_the_window():
    witness = FaceWitness(doors={"s/vault": FaceDoor("cam", window_s=10, min_score=0.7)})
    assert witness.check("s/other", "alice", 100.0) is None
    assert witness.check("s/vault", "alice", 100.0)[0] is Reason.FACE_REQUIRED
    witness.observe("cam", "alice", 0.5, 95.0)  # too unsure to count
    assert witness.check("s/vault", "alice", 100.0)[0] is Reason.FACE_REQUIRED
    witness.observe("cam", "alice", 0.9, 95.0)
    assert witness.check("s/vault", "alice", 100.0) is None
    assert witness.check("s/vault", "bob", 100.0)[0] is Reason.FACE_MISMATCH
    assert witness.check("s/vault", "alice", 106.0)[0] is Reason.FACE_REQUIRED
    witness.observe("other-cam", "alice", 0.99, 106.0)  # another camera does not count
    assert witness.check("s/vault", "alice", 106.0)[0] is Reason.FACE_REQUIRED


def test_enrolments_past_their_retention_are_erased_and_ledgered(site_hub, dispensary, clock):
    with site_hub.unit_of_work() as session:
        site_service.import_site(session=session, site=dispensary, context=CTX, now=clock.now())
        person = employees.hire(
            session=session,
            name="Ravi Patel",
            site_id="dispensary-main",
            context=CTX,
            now=clock.now(),
        )
        service.enrol(
            session=session,
            site_id="dispensary-main",
            data=EnrolmentWrite(
                person_id=person.id,
                kind="fingerprint",
                reference="reader-user-12",
                template="AAEC",
                consent=True,
                retain_days=1,
            ),
            context=CTX,
            now=clock.now(),
        )
    clock.advance(2 * 86400)
    with site_hub.unit_of_work() as session:
        assert service.expire(session=session, now=clock.now(), context=CTX) == 1
    with site_hub.db.sessions() as session:
        row = session.scalars(select(BiometricEnrolment)).one()
    assert row.revoked and row.template is None and row.reference == "(erased)"
    actions = [e.payload for e in site_hub.ledger.query(types=["biometric.enrolment"], limit=10)]
    assert len(actions) == 2 and all("reader-user-12" not in a for a in actions)


def test_a_fingerprint_readers_card_number_becomes_a_card_that_ends_with_the_enrolment(
    site_hub, dispensary, clock
):
    with site_hub.unit_of_work() as session:
        site_service.import_site(session=session, site=dispensary, context=CTX, now=clock.now())
        person = employees.hire(
            session=session,
            name="Ines Duarte",
            site_id="dispensary-main",
            context=CTX,
            now=clock.now(),
        )
        row = service.enrol(
            session=session,
            site_id="dispensary-main",
            data=EnrolmentWrite(
                person_id=person.id,
                kind="fingerprint",
                reference="fp-user-3456",
                card="h10301:12:3456",
                consent=True,
                retain_days=30,
            ),
            context=CTX,
            now=clock.now(),
        )
        enrolment_id, credential_id = row.id, row.credential_id
    with site_hub.db.sessions() as session:
        card = session.get(Credential, credential_id)
        assert card.kind == "card" and card.person_id == person.id and not card.revoked
        assert card.expires_at == clock.now() + timedelta(days=30)
    with site_hub.unit_of_work() as session:
        service.revoke(
            session=session,
            site_id="dispensary-main",
            enrolment_id=enrolment_id,
            context=CTX,
            now=clock.now(),
        )
    with site_hub.db.sessions() as session:
        assert session.get(Credential, credential_id).revoked


def test_only_a_fingerprint_sends_a_card_number(site_hub, dispensary, clock):
    with site_hub.unit_of_work() as session:
        site_service.import_site(session=session, site=dispensary, context=CTX, now=clock.now())
        person = employees.hire(
            session=session, name="Jo Park", site_id="dispensary-main", context=CTX, now=clock.now()
        )
        with pytest.raises(InvalidInput, match="only a fingerprint"):
            service.enrol(
                session=session,
                site_id="dispensary-main",
                data=EnrolmentWrite(
                    person_id=person.id,
                    kind="face",
                    reference="jo",
                    card="h10301:1:2",
                    consent=True,
                ),
                context=CTX,
                now=clock.now(),
            )
        with pytest.raises(InvalidInput, match="malformed card data"):
            service.enrol(
                session=session,
                site_id="dispensary-main",
                data=EnrolmentWrite(
                    person_id=person.id,
                    kind="fingerprint",
                    reference="jo",
                    card="h10301:x",
                    consent=True,
                ),
                context=CTX,
                now=clock.now(),
            )
