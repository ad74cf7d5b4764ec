"""Contact names are personal data: encrypted at rest, unique and findable by a keyed hash."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from ulid import ULID

from bastion.core.context import Context
from bastion.core.errors import Conflict
from bastion.notify import service
from bastion.notify.schemas import ChannelIn, ContactCreate
from bastion.store.db import Database

NOW = datetime(2026, 3, 7, 15, tzinfo=UTC)
CTX = Context(actor="test")
HOOK = "json://127.0.0.1:9/hook"


def _migrate(db: Database, revision: str, *, down: bool = False) -> None:
    cfg = db.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


@pytest.fixture
def empty_database(tmp_path: Path, _pg_templates) -> Iterator[Database]:
    """Return a database with no schema: SQLite in tmp_path, or a new PostgreSQL database."""
    if _pg_templates is None:
        db = Database(f"sqlite:///{tmp_path / 'old.db'}")
        yield db
        db.dispose()
        return
    name = f"bastion_m_{str(ULID()).lower()}"
    _pg_templates._exec(f'CREATE DATABASE "{name}"')
    url = _pg_templates.base.set(database=name).render_as_string(False)
    db = Database(url)
    yield db
    db.dispose()
    _pg_templates.drop(url)


def _add(session, name: str):
    return service.create_contact(
        session=session,
        data=ContactCreate(name=name, channels=[ChannelIn(kind="webhook", url=HOOK)]),
        context=CTX,
        now=NOW,
    )


def test_names_are_stored_encrypted_and_found_by_name(database: Database) -> None:
    with database.unit_of_work() as session:
        kim = _add(session, "Kim Private-Surname").id
        _add(session, "ada Lovelace")
        _add(session, "Bo Example")
    with database.engine.connect() as conn:
        dump = " ".join(
            str(v) for row in conn.execute(text("SELECT * FROM notify_contacts")) for v in row
        )
    assert "Private-Surname" not in dump and "Lovelace" not in dump
    with database.unit_of_work() as session:
        assert service.get_contact(session=session, contact_id="Kim Private-Surname").id == kim
        names = [c.name for c in service.list_contacts(session=session)]
        assert names == ["ada Lovelace", "Bo Example", "Kim Private-Surname"]
        with pytest.raises(Conflict, match="already used"):
            _add(session, "Kim Private-Surname")


def test_migration_encrypts_existing_names_and_keeps_channels(
    empty_database: Database, keyring
) -> None:
    db = empty_database
    _migrate(db, "0009")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO notify_contacts (id, name, role, timezone, active, created_at,"
                " updated_at) VALUES ('c1', 'Ivy Old-Row', '', 'UTC', :t, :now, :now)"
            ),
            {"t": True, "now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO notify_channels (contact_id, position, kind, url, hint, rate_limit,"
                " rate_window_s) VALUES ('c1', 0, 'webhook', :url, 'json://•••', 10, 60)"
            ),
            {"url": keyring.encrypt(HOOK)},
        )
        conn.execute(
            text(
                "INSERT INTO notify_runs (id, tree_id, tree_name, title, body, status, drill,"
                " emergency, tier_count, current_tier, started_at, started_by, context_id)"
                " VALUES ('r1', 't1', 'Tree', 'T', 'B', 'active', :f, :f, 1, 0, :now, 'test',"
                " 'ctx')"
            ),
            {"f": False, "now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO notify_recipients (run_id, contact_id, contact_name, tier, status,"
                " ack_nonce) VALUES ('r1', 'c1', 'Ivy Old-Row', 0, 'pending', 'n')"
            )
        )
    _migrate(db, "head")
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT name, name_key FROM notify_contacts")).one()
        copied = conn.execute(text("SELECT contact_name FROM notify_recipients")).scalar_one()
        channels = conn.execute(text("SELECT count(*) FROM notify_channels")).scalar_one()
    assert "Old-Row" not in stored.name and "Old-Row" not in copied
    assert len(stored.name_key) == 64 and channels == 1
    with db.unit_of_work() as session:
        contact = service.get_contact(session=session, contact_id="Ivy Old-Row")
        assert contact.id == "c1" and contact.name == "Ivy Old-Row"
        assert [c.url for c in contact.channels] == [HOOK]
        run = service.run_status(session=session, run_id="r1")
        assert [r.contact_name for r in run.recipients] == ["Ivy Old-Row"]
        with pytest.raises(Conflict):
            _add(session, "Ivy Old-Row")

    _migrate(db, "0009", down=True)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM notify_contacts")).scalar_one() == "Ivy Old-Row"
        assert conn.execute(text("SELECT count(*) FROM notify_channels")).scalar_one() == 1
