"""The maintenance suite shares the monitoring fixtures (example site, hub, event recorder)."""

from tests.monitoring_support import hub, recorder, site

__all__ = ["hub", "recorder", "site"]
