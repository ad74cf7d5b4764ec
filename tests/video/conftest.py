"""Fixtures of the video suites: the monitoring hub (dispensary loaded), broker, recorder."""

from tests.monitoring_support import broker, hub, prefix, recorder, site

__all__ = ["broker", "hub", "prefix", "recorder", "site"]
