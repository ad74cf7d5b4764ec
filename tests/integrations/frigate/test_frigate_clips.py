"""Frigate clip links: the URL Frigate's recordings API serves, offered to the cash domain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from bastion.cash import exceptions
from bastion.cash.runtime import start_cash
from bastion.core.context import Context
from bastion.core.ports import clip_source_of, pos_sink_of
from bastion.integrations import create
from bastion.integrations.frigate.clips import FrigateClips
from bastion.video.feeds import event_clip_address
from tests.cash.conftest import record
from tests.monitoring_support import wait_until


def test_a_clip_url_follows_frigates_recordings_route():
    clips = FrigateClips("http://frigate:5000/", {"cam-pos": "pos counter"})
    start = datetime(2026, 3, 7, 18, 0, 0, 500_000, tzinfo=UTC)
    url = clips.clip_url("cam-pos", start, start + timedelta(seconds=90))
    first = int(start.timestamp())
    assert url == f"http://frigate:5000/api/pos%20counter/start/{first}/end/{first + 91}/clip.mp4"
    assert clips.clip_url("cam-vault-1", start, start) is None


async def test_frigate_offers_clips_and_pos_exceptions_link_them(
    store, site_hub, clock, broker, http_server
):
    integration, config = create(
        {
            "type": "frigate",
            "site_id": store.site.site.id,
            "client_id": "fr-clips-test",
            "topic_prefix": "test/clips",
            "api_url": http_server.url,
            "cameras": {"pos_counter": "cam-pos"},
        }
    )
    cash = await start_cash(site_hub, tick_s=None)
    await integration.setup(site_hub, config)
    try:
        await wait_until(integration.connection.connected.is_set)
        assert clip_source_of(site_hub.extras, store.site.site.id) is integration.clips
        at = clock.now() - timedelta(minutes=5)
        await pos_sink_of(site_hub.extras).ingest(
            store.site.site.id,
            [record("N1", at, kind="no_sale")],
            [],
            source="test",
            context=Context(actor="test"),
        )
    finally:
        await integration.unload()
        await cash.stop()
    assert clip_source_of(site_hub.extras, store.site.site.id) is None
    with site_hub.db.sessions() as session:
        (item,) = [
            i
            for i in exceptions.list_items(session=session, site_id=store.site.site.id)
            if i.rule == "no_sale"
        ]
    assert item.clip_url.startswith(f"{http_server.url}/api/pos_counter/start/")
    async with httpx.AsyncClient() as client:
        clip = await client.get(item.clip_url)
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"


def test_an_event_clip_address_names_the_event_escaped():
    clips = FrigateClips("http://frigate:5000/", {"cam-pos": "pos_counter"})
    assert clips.event_clip_url("1733212800.5-abc") == (
        "http://frigate:5000/api/events/1733212800.5-abc/clip.mp4"
    )
    assert event_clip_address(clips, "1733212800.5-abc") == clips.event_clip_url("1733212800.5-abc")
    assert event_clip_address(clips, "../../api/config") is None  # not an event id
    assert event_clip_address(object(), "1733212800.5-abc") is None  # no event clips there
