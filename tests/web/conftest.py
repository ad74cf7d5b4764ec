"""Fixtures shared with other suites by name (the cash store for the cash pages)."""

from __future__ import annotations

from tests.cash import conftest as cash_fixtures

store = cash_fixtures.store
