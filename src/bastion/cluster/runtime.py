"""Run the cluster link inside a node: central in ``bastion serve``, edge in ``bastion cluster edge``.

Single-process mode stays the default: with ``BASTION_BUS_URL`` unset nothing here
starts. With it set, ``bastion serve`` becomes a central node: it pulls every site's
events into its database and sends credential revocations and lockdowns down to the
sites' edges. An edge process attaches :class:`EdgeNode` instead (:func:`attach_edge`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bastion.cluster.central import CentralNode
from bastion.cluster.edge import EdgeNode
from bastion.cluster.names import DEFAULT_PREFIX, Names
from bastion.cluster.wire import Command, epoch_now
from bastion.core.context import new_id
from bastion.core.events import (
    EVENT_CREDENTIAL_CHANGED,
    EVENT_LOCKDOWN,
    CredentialChangedPayload,
    Event,
    LockdownPayload,
)
from bastion.hub import Hub

_LOGGER = logging.getLogger(__name__)
ROLE_KEY = "cluster_role"
NODE_KEY = "cluster_node"


class ClusterSettings(BaseSettings):
    """How this node reaches the bus (environment: ``BASTION_BUS_URL`` …)."""

    model_config = SettingsConfigDict(env_prefix="BASTION_", extra="ignore")

    bus_url: str | None = Field(default=None, description="NATS URL; unset: single process.")
    bus_prefix: str = Field(default=DEFAULT_PREFIX, description="Subject and stream prefix.")
    node_id: str = Field(
        default_factory=lambda: socket.gethostname().split(".")[0][:40] or "node",
        description="This node's name in the cluster (unique).",
    )


class CentralRuntime:
    """A central node on a hub, plus the commands it sends when the hub revokes or locks down."""

    def __init__(self, hub: Hub, node: CentralNode) -> None:
        self.hub = hub
        self.node = node
        self.unsubscribe = [
            hub.bus.subscribe(self._credential, types=[EVENT_CREDENTIAL_CHANGED]),
            hub.bus.subscribe(self._lockdown, types=[EVENT_LOCKDOWN]),
        ]

    def _sites(self, site: str | None) -> list[str]:
        if site is not None:
            return [site]
        return sorted(self.hub.extras.get("sites", {}))

    async def _credential(self, event: Event[Any]) -> None:
        payload = event.payload
        if not isinstance(payload, CredentialChangedPayload) or payload.action != "revoked":
            return
        if event.id in self.node.seen:  # an edge applying our revocation: not sent back
            return
        for site in self._sites(event.site):
            await self._send(
                Command(
                    id=new_id(),
                    kind="revoke_credential",
                    site_id=site,
                    issued_at=epoch_now(),
                    actor=event.context.actor[:128],
                    credential_id=payload.credential_id,
                    reason=payload.reason,
                )
            )

    async def _lockdown(self, event: Event[Any]) -> None:
        payload = event.payload
        if not isinstance(payload, LockdownPayload) or event.site is None:
            return
        if event.id in self.node.seen:
            return
        await self._send(
            Command(
                id=new_id(),
                kind="lockdown",
                site_id=event.site,
                issued_at=epoch_now(),
                actor=event.context.actor[:128],
                zone_ids=payload.zone_ids,
                active=payload.active,
                reason=payload.reason[:200],
            )
        )

    async def _send(self, command: Command) -> None:
        # Retried while the bus is away: a revocation must not be lost on the way down.
        delay = 0.5
        while True:
            try:
                await self.node.send(command)
                return
            except Exception as exc:
                _LOGGER.warning(
                    "command %s for %s not sent yet: %s", command.kind, command.site_id, exc
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def stop(self) -> None:
        """Stop sending and consuming."""
        for unsubscribe in self.unsubscribe:
            unsubscribe()
        await self.node.stop()


def start_cluster(hub: Hub) -> CentralRuntime | None:
    """Start the central node when a bus is configured and this is not an edge process."""
    settings = ClusterSettings()
    if not settings.bus_url or hub.extras.get(ROLE_KEY) == "edge":
        return None
    node = CentralNode(
        hub.db,
        url=settings.bus_url,
        node_id=settings.node_id,
        names=Names(settings.bus_prefix),
        hub=hub,
    )
    node.start()
    hub.extras[ROLE_KEY] = "central"
    hub.extras[NODE_KEY] = node
    return CentralRuntime(hub, node)


def attach_edge(hub: Hub, *, site_id: str, url: str, node_id: str, prefix: str) -> EdgeNode:
    """Make ``hub``'s server an edge node of ``site_id``: the link starts and stops with it."""
    edge = EdgeNode(hub, url=url, node_id=node_id, site_id=site_id, names=Names(prefix))
    hub.extras[ROLE_KEY] = "edge"
    hub.extras[NODE_KEY] = edge

    async def on_start() -> None:
        edge.start()

    hub.extras.setdefault("on_start", []).append(on_start)
    hub.extras.setdefault("on_stop", []).append(edge.stop)
    return edge
