"""Tables of the cluster: replicated edge ledgers, the nodes seen, an edge's send position."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base, UTCDateTime


class ClusterEvent(Base):
    """One edge ledger row, kept as chained there: each edge's chain verifies on its own.

    The key is (node, seq): an edge's rows are deduplicated by their place in its chain.
    """

    __tablename__ = "cluster_events"

    node_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(26))
    type: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    site: Mapped[str | None] = mapped_column(String(63))
    subject: Mapped[str | None] = mapped_column(String(128))
    device: Mapped[str | None] = mapped_column(String(128))
    context_id: Mapped[str] = mapped_column(String(26))
    parent_id: Mapped[str | None] = mapped_column(String(26))
    actor: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_cluster_events_site_time", "site", "time"),
        Index("ix_cluster_events_id", "id"),
    )


class ClusterNode(Base):
    """A node the central side has heard of: what it holds and what has arrived from it."""

    __tablename__ = "cluster_nodes"

    node_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # "edge" or "central"
    site_id: Mapped[str | None] = mapped_column(String(63))
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)
    head_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    acked_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    commands_applied: Mapped[int] = mapped_column(Integer, default=0)
    last_command_ms: Mapped[float | None] = mapped_column(Float)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    problem: Mapped[str | None] = mapped_column(String(300))
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ClusterCursor(Base):
    """On an edge: the newest local ledger row the stream has acknowledged."""

    __tablename__ = "cluster_cursor"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
