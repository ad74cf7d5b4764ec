"""Fixtures for this suite come from the shared monitoring support module (and the cash store)."""

from tests.integrations.pos.conftest import http_server, store
from tests.monitoring_support import broker, hub, prefix, recorder, site

__all__ = ["broker", "http_server", "hub", "prefix", "recorder", "site", "store"]
