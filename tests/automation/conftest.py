"""Fixtures for this suite come from the shared monitoring support module."""

import pytest

from bastion.demo import install_demo_call_trees
from bastion.hub import Hub
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


@pytest.fixture
def example_trees(hub: Hub) -> None:
    """Create the call trees the example rules start: the demo's (its mail goes nowhere here)."""
    install_demo_call_trees(hub, smtp_port=9)


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
