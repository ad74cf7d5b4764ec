"""ORM models of the notification domain: contacts, channels, call trees, templates and runs.

Addresses (e-mail, phone numbers, chat and webhook URLs) live only in
:class:`Channel.url`, encrypted at rest; every other table refers to ids. Contact
names are encrypted too (and copied encrypted into each run's recipients); a keyed
hash of the name keeps it unique and findable.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from bastion.store import crypto
from bastion.store.base import Base, BigIntPK, JSONType, UTCDateTime
from bastion.store.crypto import EncryptedString

CHANNEL_KINDS = ("email", "sms", "chat", "webhook", "pa")
RUN_STATES = ("active", "acknowledged", "exhausted", "cancelled")
RECIPIENT_STATES = (
    "pending",
    "sending",
    "delivered",
    "drill",
    "unreachable",
    "quiet_hours",
    "acknowledged",
)

CONTACT_NAME_PURPOSE = "notify-contact-name"


def contact_name_key(name: str) -> str:
    """Return the keyed hash of a contact's name: unique and searchable, never readable."""
    return crypto.keyring().keyed_hash(name, purpose=CONTACT_NAME_PURPOSE)


class Contact(Base):
    """A person (or a group mailbox, a PA zone) who can be notified."""

    __tablename__ = "notify_contacts"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    name: Mapped[str] = mapped_column(EncryptedString())
    name_key: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(64), default="")
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    channels: Mapped[list[Channel]] = relationship(
        back_populates="contact",
        order_by="Channel.position",
        cascade="all, delete-orphan",
    )

    __table_args__ = (Index("ix_notify_contacts_name_key", "name_key", unique=True),)

    @validates("name")
    def _keep_name_key(self, _key: str, value: str) -> str:
        self.name_key = contact_name_key(value)
        return value


class Channel(Base):
    """One way to reach a contact, in order of preference; the Apprise URL is encrypted."""

    __tablename__ = "notify_channels"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("notify_contacts.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(EncryptedString())
    hint: Mapped[str] = mapped_column(String(120), default="")
    rate_limit: Mapped[int] = mapped_column(Integer, default=10)
    rate_window_s: Mapped[int] = mapped_column(Integer, default=3600)

    contact: Mapped[Contact] = relationship(back_populates="channels")

    __table_args__ = (Index("ix_notify_channels_contact", "contact_id", "position"),)


class CallTree(Base):
    """Who is contacted in what order: tiers run one after another until someone acknowledges."""

    __tablename__ = "notify_call_trees"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text(), default="")
    site_id: Mapped[str | None] = mapped_column(String(63))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    tiers: Mapped[list[Tier]] = relationship(
        back_populates="tree", order_by="Tier.position", cascade="all, delete-orphan"
    )


class Tier(Base):
    """One tier of a call tree: its members are notified in parallel."""

    __tablename__ = "notify_tiers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tree_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("notify_call_trees.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    ack_timeout_s: Mapped[int] = mapped_column(Integer)

    tree: Mapped[CallTree] = relationship(back_populates="tiers")
    members: Mapped[list[TierMember]] = relationship(
        back_populates="tier", order_by="TierMember.position", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("tree_id", "position", name="uq_notify_tiers_tree_id"),)


class TierMember(Base):
    """A contact in a tier; a contact still in a tree cannot be deleted."""

    __tablename__ = "notify_tier_members"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tier_id: Mapped[int] = mapped_column(ForeignKey("notify_tiers.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("notify_contacts.id", ondelete="RESTRICT")
    )
    position: Mapped[int] = mapped_column(Integer)

    tier: Mapped[Tier] = relationship(back_populates="members")

    __table_args__ = (Index("ix_notify_tier_members_contact", "contact_id"),)


class Template(Base):
    """A pre-written message for one scenario; title and body are strict Jinja2 templates."""

    __tablename__ = "notify_templates"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    scenario: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text())
    variables: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Run(Base):
    """One run of a call tree: the rendered message and where escalation stands."""

    __tablename__ = "notify_runs"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    tree_id: Mapped[str] = mapped_column(String(26))
    tree_name: Mapped[str] = mapped_column(String(120))
    template_id: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text())
    status: Mapped[str] = mapped_column(String(16), default="active")
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    tier_count: Mapped[int] = mapped_column(Integer)
    current_tier: Mapped[int] = mapped_column(Integer, default=0)
    tier_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(128))
    context_id: Mapped[str] = mapped_column(String(26))
    site_id: Mapped[str | None] = mapped_column(String(63))

    recipients: Mapped[list[Recipient]] = relationship(
        back_populates="run", order_by="Recipient.id", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_notify_runs_status_deadline", "status", "tier_deadline"),)


class Recipient(Base):
    """One contact notified in one run, with its acknowledgement."""

    __tablename__ = "notify_recipients"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("notify_runs.id", ondelete="CASCADE")
    )
    contact_id: Mapped[str] = mapped_column(String(26))
    contact_name: Mapped[str] = mapped_column(EncryptedString())
    tier: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    ack_nonce: Mapped[str] = mapped_column(String(32))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ack_method: Mapped[str | None] = mapped_column(String(16))
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))

    run: Mapped[Run] = relationship(back_populates="recipients")

    __table_args__ = (Index("ix_notify_recipients_run", "run_id", "tier"),)


class Delivery(Base):
    """One attempt over one channel for one recipient: outcome and (redacted) reason."""

    __tablename__ = "notify_deliveries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("notify_recipients.id", ondelete="CASCADE")
    )
    run_id: Mapped[str] = mapped_column(String(26))
    channel_id: Mapped[int | None] = mapped_column(BigIntPK)
    channel_kind: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text(), default="")
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_notify_deliveries_recipient", "recipient_id"),
        Index("ix_notify_deliveries_channel_time", "channel_id", "attempted_at"),
    )
