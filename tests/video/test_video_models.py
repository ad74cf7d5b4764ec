"""The migration creates exactly the video and biometric tables of the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import bastion.video.models  # noqa: F401  (registers the tables on the metadata)
from bastion.store.base import Base


def test_the_migration_matches_the_models(database):
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def ours(item):
        text = repr(item[0] if isinstance(item, list) else item)
        return "video_" in text or "biometric_" in text

    assert [d for d in diff if ours(d)] == []
