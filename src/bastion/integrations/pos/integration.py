"""The POS integration: watch a folder for exports, relay drop requests to the terminals.

Exports dropped in ``inbox`` (Bastion CSV or Toast ``PaymentDetails.csv``) are read off
the event loop and handed to the cash domain's POS sink found on the hub; a file moves
to ``inbox/done`` once ingested (its bad lines are kept as rejections there), or to
``inbox/failed`` when it cannot be read at all. When a till passes its limit the cash
domain publishes ``cash.drop_requested``; with ``terminal_url`` set, the adapter POSTs
``{"terminal", "message", "balance_cents", "limit_cents"}`` there so the POS can show it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from bastion.core.context import Context
from bastion.core.errors import ConfigError
from bastion.core.events import EVENT_CASH_DROP_REQUESTED, CashDropRequestPayload, Event
from bastion.core.ports import PosIngestReport, PosSink, pos_sink_of
from bastion.integrations.pos.formats import Parsed, read_bastion_csv, read_toast_payments

_LOGGER = logging.getLogger(__name__)
Format = Literal["bastion-csv", "toast-payments"]


class PosConfig(BaseModel):
    """Settings of the POS integration."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["pos"] = Field(default="pos", title="Type", description="Integration type.")
    site_id: str = Field(title="Site", description="Site whose registers the POS feeds.")
    format: Format = Field(
        default="bastion-csv",
        title="Export format",
        description="bastion-csv, or toast-payments for Toast's PaymentDetails.csv.",
    )
    inbox: Path | None = Field(
        default=None, title="Inbox", description="Folder watched for export files (*.csv)."
    )
    poll_s: float = Field(
        default=5.0, gt=0, title="Poll every", description="Seconds between inbox checks."
    )
    default_terminal: str | None = Field(
        default=None,
        title="Default terminal",
        description="Terminal for Toast payments without a cash drawer (card payments).",
    )
    location: str | None = Field(
        default=None, title="Location", description="Only this Toast location's rows."
    )
    terminal_url: str | None = Field(
        default=None,
        title="Terminal URL",
        description="Where to POST drop requests for the cashier's terminal (JSON).",
    )


def parse(config: PosConfig, text: str, *, timezone: str) -> Parsed:
    """Read an export in the configured format."""
    if config.format == "toast-payments":
        return read_toast_payments(
            text,
            timezone=timezone,
            default_terminal=config.default_terminal,
            location=config.location,
        )
    return read_bastion_csv(text)


class PosIntegration:
    """Feed POS exports to the cash domain and drop requests to the POS."""

    domain: ClassVar[str] = "pos"
    config_model: ClassVar[type[BaseModel]] = PosConfig

    def __init__(self) -> None:
        self._hub: Any = None
        self._config: PosConfig | None = None
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None
        self._client: httpx.AsyncClient | None = None
        self.reports: list[PosIngestReport] = []
        self.relayed: list[dict[str, Any]] = []

    async def setup(self, hub: Any, config: Any) -> None:
        """Find the cash domain's sink, start watching the inbox and relaying drop requests."""
        sites = hub.extras.get("sites", {})
        if config.site_id not in sites:
            raise ConfigError(f"pos: site {config.site_id!r} is not loaded", field="site_id")
        if pos_sink_of(hub.extras) is None:
            raise ConfigError("pos: the cash domain is not running on this node")
        self._hub, self._config = hub, config
        if config.inbox is not None:
            for folder in (config.inbox, config.inbox / "done", config.inbox / "failed"):
                folder.mkdir(parents=True, exist_ok=True)
            self._task = asyncio.create_task(self._watch(), name="pos-inbox")
        if config.terminal_url:
            self._client = httpx.AsyncClient(timeout=5.0)
            self._unsubscribe = hub.bus.subscribe(self.relay, types=[EVENT_CASH_DROP_REQUESTED])

    async def unload(self) -> None:
        """Stop watching and relaying."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def sink(self) -> PosSink:
        """Return the cash domain's POS sink."""
        sink = pos_sink_of(self._hub.extras)
        if sink is None:
            raise ConfigError("pos: the cash domain is not running on this node")
        return sink

    async def _watch(self) -> None:
        assert self._config is not None
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("pos inbox check failed; trying again")
            await asyncio.sleep(self._config.poll_s)

    async def poll(self) -> int:
        """Ingest every export waiting in the inbox; return how many files were handled."""
        assert self._config is not None and self._config.inbox is not None
        files = sorted(p for p in self._config.inbox.glob("*.csv") if p.is_file())
        for path in files:
            await self.ingest_file(path)
        return len(files)

    async def ingest_file(self, path: Path) -> PosIngestReport | None:
        """Read one export and hand it over; move it to ``done`` (or ``failed``)."""
        assert self._config is not None
        config = self._config
        timezone = self._hub.extras["sites"][config.site_id].site.timezone
        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            _LOGGER.warning("pos: cannot read %s: %s", path.name, exc)
            await asyncio.to_thread(path.replace, path.parent / "failed" / path.name)
            return None
        parsed = await asyncio.to_thread(parse, config, text, timezone=timezone)
        report = await self.sink.ingest(
            config.site_id,
            parsed.records,
            parsed.rejects,
            source=f"{config.format}:{path.name}"[:32],
            context=Context(actor="integration:pos"),
        )
        self.reports.append(report)
        await asyncio.to_thread(path.replace, path.parent / "done" / path.name)
        return report

    async def relay(self, event: Event[Any]) -> None:
        """POST a drop request for this site's terminal to the POS."""
        payload = event.payload
        config = self._config
        if not isinstance(payload, CashDropRequestPayload) or config is None:
            return
        if event.site != config.site_id or self._client is None or not config.terminal_url:
            return
        body = {
            "terminal": payload.terminal,
            "message": "Cash over the drawer limit: drop to the safe now.",
            "balance_cents": payload.balance_cents,
            "limit_cents": payload.limit_cents,
        }
        try:
            response = await self._client.post(config.terminal_url, json=body)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            _LOGGER.warning("pos: drop request for %s not delivered: %s", payload.terminal, exc)
            return
        self.relayed.append(body)
