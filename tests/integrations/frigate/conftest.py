"""Fixtures for this suite come from the shared monitoring support module."""

from tests.monitoring_support import broker, hub, prefix, recorder, site

__all__ = ["broker", "hub", "prefix", "recorder", "site"]
