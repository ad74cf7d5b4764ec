"""OSDP card readers: Bastion as the control panel over libosdp."""

from __future__ import annotations

from bastion.integrations.osdp.config import BusConfig, IoConfig, OsdpConfig
from bastion.integrations.osdp.integration import OsdpIntegration
from bastion.integrations.osdp.keys import MemoryKeyStore, ReaderKeyStore

__all__ = [
    "BusConfig",
    "IoConfig",
    "MemoryKeyStore",
    "OsdpConfig",
    "OsdpIntegration",
    "ReaderKeyStore",
]
