"""Fixtures of the video suites: broker, topic prefix and the example site.

The monitoring hub (with its recorder) is imported by the modules that run the
runtime; the API suite uses the application's hub from the root conftest.
"""

from tests.monitoring_support import broker, prefix, site

__all__ = ["broker", "prefix", "site"]
