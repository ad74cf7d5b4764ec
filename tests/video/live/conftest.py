"""The running domain's suites use the monitoring hub (dispensary loaded) and its recorder."""

from tests.monitoring_support import hub, recorder

__all__ = ["hub", "recorder"]
