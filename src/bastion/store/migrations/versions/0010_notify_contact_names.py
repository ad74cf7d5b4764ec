"""Notification: contact names encrypted at rest (and in run recipients), unique by keyed hash.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from bastion.store import crypto

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Frozen here: the purpose string of the keyed hash as of this revision.
CONTACT_NAME_PURPOSE = "notify-contact-name"


def _widen_to_text() -> None:
    # Ciphertext is longer than the 120-character names. SQLite does not enforce VARCHAR
    # lengths, and rebuilding notify_contacts there would cascade-delete its channels.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("notify_contacts", "name", type_=sa.Text())
        op.alter_column("notify_recipients", "contact_name", type_=sa.Text())


def upgrade() -> None:
    """Encrypt contact and recipient names; add the unique keyed hash of contact names."""
    _widen_to_text()
    op.add_column("notify_contacts", sa.Column("name_key", sa.String(64)))
    bind = op.get_bind()
    contacts = bind.execute(sa.text("SELECT id, name FROM notify_contacts")).all()
    recipients = bind.execute(sa.text("SELECT id, contact_name FROM notify_recipients")).all()
    if contacts or recipients:
        ring = crypto.keyring()
        for contact_id, name in contacts:
            bind.execute(
                sa.text("UPDATE notify_contacts SET name = :name, name_key = :key WHERE id = :id"),
                {
                    "id": contact_id,
                    "name": ring.encrypt(name),
                    "key": ring.keyed_hash(name, purpose=CONTACT_NAME_PURPOSE),
                },
            )
        for recipient_id, name in recipients:
            bind.execute(
                sa.text("UPDATE notify_recipients SET contact_name = :name WHERE id = :id"),
                {"id": recipient_id, "name": ring.encrypt(name)},
            )
    op.create_index("ix_notify_contacts_name_key", "notify_contacts", ["name_key"], unique=True)


def downgrade() -> None:
    """Decrypt the names again and drop the keyed hash."""
    op.drop_index("ix_notify_contacts_name_key", "notify_contacts")
    bind = op.get_bind()
    contacts = bind.execute(sa.text("SELECT id, name FROM notify_contacts")).all()
    recipients = bind.execute(sa.text("SELECT id, contact_name FROM notify_recipients")).all()
    if contacts or recipients:
        ring = crypto.keyring()
        for contact_id, token in contacts:
            bind.execute(
                sa.text("UPDATE notify_contacts SET name = :name WHERE id = :id"),
                {"id": contact_id, "name": ring.decrypt(token)},
            )
        for recipient_id, token in recipients:
            bind.execute(
                sa.text("UPDATE notify_recipients SET contact_name = :name WHERE id = :id"),
                {"id": recipient_id, "name": ring.decrypt(token)},
            )
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35+): a rebuild would cascade to channels.
    op.drop_column("notify_contacts", "name_key")
    if bind.dialect.name != "sqlite":
        op.alter_column("notify_contacts", "name", type_=sa.String(120))
        op.alter_column("notify_recipients", "contact_name", type_=sa.String(120))
