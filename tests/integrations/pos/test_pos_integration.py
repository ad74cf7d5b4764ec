"""The POS integration against the running cash domain: an inbox folder, a real HTTP terminal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bastion.cash.runtime import start_cash
from bastion.core.errors import ConfigError
from bastion.integrations import create
from bastion.integrations.pos.formats import write_bastion_csv
from tests.cash.conftest import balance_of, record
from tests.monitoring_support import wait_until


async def test_exports_in_the_inbox_are_ingested_and_drop_requests_reach_the_terminal(
    store, site_hub, clock, tmp_path, http_server
):
    inbox = tmp_path / "inbox"
    integration, config = create(
        {
            "type": "pos",
            "site_id": store.site.site.id,
            "inbox": str(inbox),
            "terminal_url": f"{http_server.url}/drop",
            "poll_s": 3600,
        }
    )
    with pytest.raises(ConfigError, match="cash domain is not running"):
        await integration.setup(site_hub, config)
    cash = await start_cash(site_hub, tick_s=None)
    await integration.setup(site_hub, config)
    try:
        at = clock.now() - timedelta(minutes=10)
        export = write_bastion_csv(
            [record("X1", at, total=60_000), record("X2", at + timedelta(minutes=1), total=60_000)]
        )
        (inbox / "day-1.csv").write_text(export + "X3,T1,1,bad,sale,1,0,,,,,\n")
        (inbox / "notes.txt").write_text("not an export")
        await wait_until(lambda: len(integration.reports) == 1)  # the watcher saw it at once
        (report,) = integration.reports
        assert (report.accepted, report.rejected) == (2, 1)
        assert (inbox / "done" / "day-1.csv").exists() and not (inbox / "day-1.csv").exists()
        assert balance_of(site_hub, store.register1) == 120_000
        await wait_until(lambda: len(http_server.bodies) == 1)
        (body,) = http_server.bodies
        assert body["terminal"] == "T1" and body["balance_cents"] == 120_000
        assert "drop to the safe" in body["message"]
        (inbox / "day-1.csv").write_text(export)  # the POS sends the same export again
        await integration.poll()
        assert integration.reports[-1].duplicates == 2
        assert balance_of(site_hub, store.register1) == 120_000
    finally:
        await integration.unload()
        await cash.stop()
