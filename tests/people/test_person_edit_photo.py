"""Editing a cardholder and their photo in the console: the gate, the ledger, sealed storage."""

from __future__ import annotations

import cv2
import numpy as np
from sqlalchemy import select

from bastion.auth.permissions import Role
from bastion.people import photos
from bastion.people import service as people_service
from bastion.people.models import Person

from .conftest import SITE, ledger_payloads


def _csrf(client) -> dict[str, str]:
    return {"csrf_token": client.headers["X-CSRF-Token"]}


def _add(client, name: str = "Rosa Delgado", **fields: str) -> str:
    response = client.post(
        "/console/people",
        data={**_csrf(client), "site_id": SITE, "name": name, **fields},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["location"].split("?")[0]


def picture(width: int = 320, height: int = 240, ext: str = ".jpg") -> bytes:
    """Return a small picture with some structure (a gradient and a block)."""
    ramp = np.tile(np.linspace(0, 255, width, dtype=np.uint8), (height, 1))
    image = cv2.merge([ramp, ramp[::-1], np.full_like(ramp, 90)])
    image[40:120, 60:160] = (20, 200, 40)
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


def _upload(client, url: str, data: bytes, name: str = "rosa.jpg", kind: str = "image/jpeg"):
    return client.post(
        f"{url}/photo",
        data=_csrf(client),
        files={"photo": (name, data, kind)},
        follow_redirects=False,
    )


def test_hr_corrects_name_role_kind_and_manager(client_for, stored_site, database, site_hub):
    hr = client_for(Role.HR, site_id=SITE)
    boss_url = _add(hr, name="Dana Whitfield", role="store manager")
    url = _add(hr, name="Rosa Delgado", role="budtender")
    boss_id = boss_url.rsplit("/", 1)[1]
    response = hr.post(
        f"{url}/edit",
        data={
            **_csrf(hr),
            "form": "edit",
            "name": "Rosa Delgado-Ruiz",
            "role": "lead budtender",
            "kind": "contractor",
            "manager_id": boss_id,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = hr.get(response.headers["location"]).text
    assert "Details saved." in page
    assert "Rosa Delgado-Ruiz" in page and "reports to Dana Whitfield" in page
    with database.sessions() as session:
        person = session.get(Person, url.rsplit("/", 1)[1])
        assert person is not None
        assert (person.name, person.role, person.kind, person.manager_id) == (
            "Rosa Delgado-Ruiz",
            "lead budtender",
            "contractor",
            boss_id,
        )
        assert person.name_key == people_service.name_key("rosa delgado-ruiz")
    updates = [p for p in ledger_payloads(site_hub, "people.changed") if p["action"] == "updated"]
    assert [u["reason"] for u in updates] == ["changed name, role, employee or contractor"]
    # The ledger names what changed, never the new values (a name is personal data).
    assert "Delgado" not in str(updates)
    linked = [p for p in ledger_payloads(site_hub, "people.employee") if p["action"] == "linked"]
    assert linked[-1]["detail"] == {"manager": boss_id}


def test_saving_unchanged_details_records_nothing(client_for, stored_site, site_hub):
    hr = client_for(Role.HR, site_id=SITE)
    url = _add(hr, role="budtender")
    response = hr.post(
        f"{url}/edit",
        data={**_csrf(hr), "name": "Rosa Delgado", "role": "budtender", "kind": "employee"},
    )
    assert "Nothing was changed." in response.text
    assert [p["action"] for p in ledger_payloads(site_hub, "people.changed")] == ["created"]


def test_a_refused_edit_keeps_what_was_typed_and_says_why_in_words(
    client_for, stored_site, database
):
    hr = client_for(Role.HR, site_id=SITE)
    url = _add(hr, role="budtender")
    response = hr.post(
        f"{url}/edit",
        data={**_csrf(hr), "form": "edit", "name": "   ", "role": "night lead", "kind": "employee"},
    )
    assert response.status_code == 422
    assert "a person needs a name of 1–200 characters" in response.text
    form = response.text.split('id="edit-form"')[1].split("</form>")[0]
    assert 'value="night lead"' in form
    assert '<details id="edit-person" open>' in response.text
    too_long = hr.post(
        f"{url}/edit",
        data={**_csrf(hr), "form": "edit", "name": "Rosa", "role": "x" * 80, "kind": "employee"},
    )
    assert too_long.status_code == 422
    assert "a role is at most 64 characters" in too_long.text
    forged = hr.post(
        f"{url}/edit",
        data={**_csrf(hr), "name": "Rosa", "kind": "visitor", "manager_id": "nobody"},
    )
    assert forged.status_code == 422
    assert "choose a manager from the list" in forged.text
    with database.sessions() as session:
        person = session.scalars(select(Person)).one()
        assert (person.name, person.role) == ("Rosa Delgado", "budtender")


def test_only_hr_of_the_persons_site_may_edit(client_for, stored_site, database):
    hr = client_for(Role.HR, site_id=SITE)
    url = _add(hr)
    data = {"name": "Mallory", "role": "", "kind": "employee"}
    other_hr = client_for(Role.HR, site_id="cultivation-north")
    assert other_hr.post(f"{url}/edit", data={**_csrf(other_hr), **data}).status_code == 404
    manager = client_for(Role.SECURITY_MANAGER, site_id=SITE)  # may badge, not edit HR records
    assert manager.post(f"{url}/edit", data={**_csrf(manager), **data}).status_code == 403
    assert 'id="edit-form"' not in manager.get(url).text
    with database.sessions() as session:
        assert session.scalars(select(Person.name)).one() == "Rosa Delgado"


def test_a_photo_is_sealed_on_disk_and_served_to_the_sites_staff(
    client_for, stored_site, hub, site_hub
):
    hr = client_for(Role.HR, site_id=SITE)
    url = _add(hr)
    person_id = url.rsplit("/", 1)[1]
    original = picture(1600, 1200)
    response = _upload(hr, url, original)
    assert response.status_code == 303, response.text
    page = hr.get(response.headers["location"]).text
    assert "Photo saved." in page and 'id="person-photo"' in page

    files = sorted(p.name for p in photos.photo_dir(hub.settings.data_dir).iterdir())
    assert files == [f"{person_id}.jpg.sealed", f"{person_id}.thumb.jpg.sealed"]
    served = hr.get(f"{url}/photo.jpg")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert "no-store" in served.headers["cache-control"]
    sealed = (photos.photo_dir(hub.settings.data_dir) / files[0]).read_bytes()
    # What lies on disk is neither the upload nor the JPEG served, nor any JPEG at all.
    assert not sealed.startswith(b"\xff\xd8")
    assert served.content[:64] not in sealed and original[:64] not in sealed
    decoded = cv2.imdecode(np.frombuffer(served.content, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[:2] == (480, 640)  # scaled down to 640 on the long side
    thumb = hr.get(f"{url}/photo.jpg", params={"size": "thumb"})
    small = cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_COLOR)
    assert max(small.shape[:2]) == photos.THUMB_EDGE
    listing = hr.get("/console/people").text
    assert f'src="/console/people/{person_id}/photo.jpg?size=thumb"' in listing

    # Another site's staff cannot see it; an operator of this site can.
    outsider = client_for(Role.SECURITY_MANAGER, site_id="cultivation-north")
    assert outsider.get(f"{url}/photo.jpg").status_code == 404
    assert outsider.get(f"{url}/photo.jpg", params={"size": "thumb"}).status_code == 404
    other_hr = client_for(Role.HR, site_id="cultivation-north")
    assert _upload(other_hr, url, picture()).status_code == 404
    operator = client_for(Role.OPERATOR, site_id=SITE)
    assert operator.get(f"{url}/photo.jpg").status_code == 200
    assert _upload(operator, url, picture()).status_code == 403

    photo_events = [
        p["reason"] for p in ledger_payloads(site_hub, "people.changed") if p["action"] == "updated"
    ]
    assert photo_events == ["photo added"]
    removed = hr.post(f"{url}/photo/remove", data=_csrf(hr), follow_redirects=False)
    assert removed.status_code == 303
    assert hr.get(f"{url}/photo.jpg").status_code == 404
    assert list(photos.photo_dir(hub.settings.data_dir).iterdir()) == []


def test_a_png_is_accepted_and_kept_as_jpeg(client_for, stored_site):
    hr = client_for(Role.HR, site_id=SITE)
    url = _add(hr)
    assert _upload(hr, url, picture(ext=".png"), "shot.png", "image/png").status_code == 303
    assert hr.get(f"{url}/photo.jpg").content.startswith(b"\xff\xd8")


def test_what_is_not_a_usable_photo_is_refused_in_words(client_for, stored_site, hub):
    hr = client_for(Role.HR, site_id=SITE)
    url = _add(hr)
    text = _upload(hr, url, b"name,card\nRosa,4242\n", "people.csv", "text/csv")
    assert text.status_code == 422
    assert "that file is not a picture; use a JPEG or PNG photo" in text.text
    assert '<details id="photo-section" open>' in text.text
    broken = _upload(hr, url, picture()[:300])
    assert broken.status_code == 422 and "damaged" in broken.text
    # Over 5 MB (but within the request limit): refused before it is decoded.
    big = _upload(hr, url, b"\xff\xd8" + bytes(5 * 1024 * 1024))
    assert big.status_code == 422
    assert "a photo may be at most 5 MB" in big.text
    empty = _upload(hr, url, b"", "", "application/octet-stream")
    assert empty.status_code == 422 and "choose a picture file or take a photo first" in empty.text
    huge = np.zeros((20, 20, 3), np.uint8)
    ok, data = cv2.imencode(".png", huge)
    assert ok
    bomb = bytearray(data.tobytes())
    bomb[16:24] = (20_000).to_bytes(4, "big") * 2  # the header claims 400 megapixels
    assert "too many pixels" in _upload(hr, url, bytes(bomb), "x.png", "image/png").text
    # A body over the route's limit never reaches the page at all.
    assert _upload(hr, url, bytes(7 * 1024 * 1024)).status_code == 413
    assert not any(photos.photo_dir(hub.settings.data_dir).iterdir())


def test_only_the_person_page_may_use_the_camera(client_for, stored_site):
    hr = client_for(Role.HR, site_id=SITE)
    url = _add(hr)
    assert "camera=(self)" in hr.get(url).headers["permissions-policy"]
    assert "camera=()" in hr.get("/console/people").headers["permissions-policy"]
    assert '<script src="/static/person.js">' in hr.get(url).text
