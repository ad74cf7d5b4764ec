"""HTTP suites run the app on its own loop: they take the plain hub, not the monitoring one."""

from tests.conftest import hub

__all__ = ["hub"]
