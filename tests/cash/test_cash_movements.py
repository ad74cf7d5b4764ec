"""Containers and movements: balances come only from entries, and every movement is ledgered."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bastion.cash import movements
from bastion.cash.models import CashEntry
from bastion.core.errors import Conflict, InvalidInput, NotFound
from bastion.store.base import Base
from bastion.store.ledger import Ledger

from .conftest import CTX, ledger_payloads


def test_the_migration_creates_exactly_the_cash_tables_of_the_models(database):
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def about_cash(item):
        first = item[0] if isinstance(item, list) else item
        text = repr(first)
        return "cash_" in text

    assert [d for d in diff if about_cash(d)] == []


def test_a_drop_moves_cash_and_every_balance_is_the_sum_of_its_entries(store, site_hub, clock):
    with site_hub.unit_of_work() as session:
        register = movements.get_container(session=session, container_id=store.register1)
        safe = movements.get_container(session=session, container_id=store.safe)
        movements.post(
            session=session,
            site_id=store.site.site.id,
            kind="sale_cash_in",
            amount_cents=150_000,
            container_id=register.id,
            legs=[(register.id, 150_000)],
            context=CTX,
            now=clock.now(),
        )
        movements.transfer(
            session=session,
            site_id=store.site.site.id,
            kind="safe_drop",
            source=register,
            target=safe,
            amount_cents=100_000,
            context=CTX,
            now=clock.now(),
        )
    with site_hub.db.sessions() as session:
        got = movements.balances(session=session, container_ids=[store.register1, store.safe])
        assert got == {store.register1: 50_000, store.safe: 100_000}
        for cid in got:
            assert movements.recomputed_balance(session=session, container_id=cid) == got[cid]
        assert session.query(CashEntry).count() == 3
    kinds = [(p["kind"], p["amount_cents"]) for p in ledger_payloads(site_hub, "cash.movement")]
    assert kinds == [("sale_cash_in", 150_000), ("safe_drop", 100_000)]
    assert site_hub.ledger.verify().ok


def test_bad_amounts_and_bad_containers_are_refused_with_plain_words(store, site_hub, clock):
    with site_hub.unit_of_work() as session:
        register = movements.get_container(session=session, container_id=store.register1)
        safe = movements.get_container(session=session, container_id=store.safe)
        for amount, words in (
            (0, r"more than \$0\.00"),
            (-5, "more than"),
            (10**12, "not plausible"),
        ):
            with pytest.raises(InvalidInput, match=words):
                movements.transfer(
                    session=session,
                    site_id=store.site.site.id,
                    kind="safe_drop",
                    source=register,
                    target=safe,
                    amount_cents=amount,
                    context=CTX,
                    now=clock.now(),
                )
        with pytest.raises(Conflict, match="terminal 'T1' already"):
            movements.create_container(
                session=session,
                site=store.site,
                kind="register",
                name="Dup",
                zone_id="sales-floor",
                camera_id="cam-pos",
                terminal="T1",
                context=CTX,
                now=clock.now(),
            )
        with pytest.raises(InvalidInput, match="no camera 'cam-nope'"):
            movements.create_container(
                session=session,
                site=store.site,
                kind="register",
                name="X",
                zone_id="sales-floor",
                camera_id="cam-nope",
                terminal="T9",
                context=CTX,
                now=clock.now(),
            )
        with pytest.raises(InvalidInput, match="is a reader, not a camera"):
            movements.create_container(
                session=session,
                site=store.site,
                kind="register",
                name="X",
                zone_id="sales-floor",
                camera_id="boh-door-rdr-in",
                terminal="T9",
                context=CTX,
                now=clock.now(),
            )
        with pytest.raises(Conflict, match="already has a vault"):
            movements.create_container(
                session=session,
                site=store.site,
                kind="vault",
                name="V2",
                context=CTX,
                now=clock.now(),
            )
        with pytest.raises(NotFound):
            movements.get_container(session=session, container_id="nope")
    with site_hub.db.sessions() as session:
        assert movements.balance(session=session, container_id=store.register1) == 0


def test_concurrent_posts_to_one_till_never_lose_an_update(store, site_hub, clock):
    """Two writers at once (threads, separate transactions) both land on the running balance."""
    errors: list[BaseException] = []

    def sell(times: int) -> None:
        try:
            for _ in range(times):
                with site_hub.db.unit_of_work() as session:
                    movements.post(
                        session=session,
                        site_id=store.site.site.id,
                        kind="sale_cash_in",
                        amount_cents=100,
                        container_id=store.register1,
                        legs=[(store.register1, 100)],
                        context=CTX,
                        now=clock.now(),
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sell, args=(25,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with site_hub.db.sessions() as session:
        assert movements.balance(session=session, container_id=store.register1) == 5_000
        assert movements.recomputed_balance(session=session, container_id=store.register1) == 5_000
    assert Ledger(site_hub.db).verify().ok
