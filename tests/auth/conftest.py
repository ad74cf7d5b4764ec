"""The auth suites use the shared fixtures of tests/conftest.py (hub, app, make_account)."""
