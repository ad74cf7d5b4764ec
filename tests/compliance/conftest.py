from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bastion.compliance.profile import Profile, load_profile

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def dispensary_profile() -> Profile:
    return load_profile(EXAMPLES / "dispensary.compliance.yaml")
