"""The alarms suite shares the monitoring fixtures (example site, hub, event recorder)."""

from tests.monitoring_support import EXAMPLE_RULES, EXAMPLE_SITE, Recorder, hub, recorder, site

__all__ = ["EXAMPLE_RULES", "EXAMPLE_SITE", "Recorder", "hub", "recorder", "site"]
