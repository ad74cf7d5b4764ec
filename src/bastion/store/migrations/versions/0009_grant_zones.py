"""Role grants narrowed to zones of their site.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the optional zone list of a role grant (NULL: the whole site)."""
    with op.batch_alter_table("role_grants") as batch:
        batch.add_column(sa.Column("zone_ids", sa.JSON()))


def downgrade() -> None:
    """Drop the zone list of role grants."""
    with op.batch_alter_table("role_grants") as batch:
        batch.drop_column("zone_ids")
