"""Fixtures for this suite come from the shared monitoring support module."""

from tests.monitoring_support import (
    EXAMPLE_RULES,
    EXAMPLE_SITE,
    Listener,
    Recorder,
    broker,
    hub,
    prefix,
    publish_raw,
    recorder,
    site,
    wait_until,
)

__all__ = [
    "EXAMPLE_RULES",
    "EXAMPLE_SITE",
    "Listener",
    "Recorder",
    "broker",
    "hub",
    "prefix",
    "publish_raw",
    "recorder",
    "site",
    "wait_until",
]
