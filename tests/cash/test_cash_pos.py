"""POS ingest: balances from sales, idempotent resends, rejected records kept, exceptions with clips."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bastion.cash import exceptions, pos
from bastion.cash.models import PosException, PosRejection, PosTransaction
from bastion.core.ports import PosReject
from bastion.integrations.frigate.clips import FrigateClips

from .conftest import CTX, balance_of, ingest, ledger_payloads, record


@pytest.fixture
def day(clock):
    """Noon on a Saturday in Chicago (inside business hours); the clock is at 17:00."""
    noon = clock.now().replace(hour=18, minute=0)  # 12:00 in Chicago (CST)
    clock.set(noon + timedelta(hours=5))
    return noon


def test_cash_sales_refunds_and_payouts_move_the_till_and_the_batch_is_digested(
    store, site_hub, day
):
    records = [
        record("S1", day, total=4500),
        record("S2", day + timedelta(minutes=1), total=3000, cash=1000),
        record("S3", day + timedelta(minutes=2), total=2000, cash=0),
        record("R1", day + timedelta(minutes=3), kind="refund", total=700, original="S1"),
        record("P1", day + timedelta(minutes=4), kind="payout", total=1500),
        record("S4", day + timedelta(minutes=5), total=900, terminal="T2"),
    ]
    result = ingest(site_hub, store.site, records)
    assert (result.accepted, result.duplicates, result.rejected) == (6, 0, 0)
    assert balance_of(site_hub, store.register1) == 4500 + 1000 - 700 - 1500
    assert balance_of(site_hub, store.register2) == 900
    moves = [
        (p["kind"], p["device_id"], p["amount_cents"])
        for p in ledger_payloads(site_hub, "cash.movement")
    ]
    assert sorted(moves) == sorted(
        [
            ("sale_cash_in", store.register1, 5500),
            ("refund", store.register1, 700),
            ("payout", store.register1, 1500),
            ("sale_cash_in", store.register2, 900),
        ]
    )
    (batch,) = ledger_payloads(site_hub, "cash.pos_batch")
    with site_hub.db.sessions() as session:
        rows = (
            session.execute(
                select(PosTransaction)
                .where(PosTransaction.batch_id == batch["batch_id"])
                .order_by(PosTransaction.id)
            )
            .scalars()
            .all()
        )
        stored = [
            (
                r.site_id,
                r.pos_id,
                r.terminal,
                r.register_id,
                r.cashier,
                r.person_id,
                r.at_ms,
                r.kind_code,
                r.total_cents,
                r.cash_cents,
                r.discount_cents,
                r.original_id,
                r.customer_code,
                r.reason,
                r.detail,
                r.batch_id,
            )
            for r in rows
        ]
    digest = hashlib.sha256(
        b"".join(pos.digest_row(r).encode() + b"\n" for r in stored)
    ).hexdigest()
    assert batch["digest"] == digest and batch["accepted"] == 6


def test_the_same_transaction_twice_is_ignored_and_a_changed_one_is_refused_and_kept(
    store, site_hub, day
):
    first = [record("S1", day, total=4500), record("S2", day + timedelta(minutes=1), total=100)]
    ingest(site_hub, store.site, first)
    again = ingest(site_hub, store.site, [*first, record("S1", day, total=4500)])
    assert (again.accepted, again.duplicates, again.rejected) == (0, 3, 0)
    changed = ingest(site_hub, store.site, [record("S1", day, total=9999)])
    assert (changed.accepted, changed.rejected) == (0, 1)
    assert balance_of(site_hub, store.register1) == 4600
    with site_hub.db.sessions() as session:
        (kept,) = session.execute(select(PosRejection)).scalars().all()
        assert kept.pos_id == "S1" and "other figures" in kept.reason
        assert "total=9999" in kept.raw


def test_malformed_negative_absurd_and_unknown_records_are_refused_without_touching_money(
    store, site_hub, day, database
):
    bad = [
        record("N1", day, total=-500),
        record("N2", day, total=20_000_000),
        record("N3", day, total=1000, cash=2000),
        record("N4", day, kind="no_sale", total=100),
        record("N5", day + timedelta(days=2), total=100),
        record("N6", day, total=100, terminal="T9"),
        record("", day, total=100),
    ]
    result = ingest(
        site_hub,
        store.site,
        [*bad, record("OK", day, total=100)],
        [PosReject("line 9", "kind 'gift' is not a kind", "x,y,z")],
    )
    assert (result.accepted, result.rejected) == (1, 8)
    assert balance_of(site_hub, store.register1) == 100
    with site_hub.db.sessions() as session:
        reasons = {
            r.pos_id or r.line: r.reason
            for r in pos.list_rejections(session=session, site_id=store.site.site.id)
        }
    assert "positive numbers" in reasons["N1"]
    assert "not plausible" in reasons["N2"]
    assert "between $0 and the sale's total" in reasons["N3"]
    assert "moves no money" in reasons["N4"]
    assert "in the future" in reasons["N5"]
    assert "not bound to a register" in reasons["N6"]
    assert "id is missing" in reasons[""]
    assert reasons["line 9"] == "kind 'gift' is not a kind"
    with database.engine.connect() as conn:  # the raw text is encrypted at rest
        raws = [r[0] for r in conn.execute(text("SELECT raw FROM cash_pos_rejections"))]
    assert raws and not any("terminal=T9" in r for r in raws)


def test_exceptions_are_raised_with_a_bookmark_or_a_frigate_clip_of_the_register_camera(
    store, site_hub, day
):
    frigate = FrigateClips("http://frigate.local:5000", {"cam-pos": "pos_counter"})
    result = ingest(
        site_hub,
        store.site,
        [
            record("S1", day, total=4000),
            record("V1", day + timedelta(minutes=1), kind="void", total=4000, original="S1"),
            record("N1", day + timedelta(minutes=2), kind="no_sale"),
            record("R1", day + timedelta(minutes=3), kind="refund", total=500, terminal="T2"),
            record("D1", day + timedelta(minutes=30), kind="drawer_open"),
        ],
        clips=frigate,
    )
    assert result.exceptions == 4
    with site_hub.db.sessions() as session:
        items = {
            i.rule: i for i in exceptions.list_items(session=session, site_id=store.site.site.id)
        }
    assert set(items) == {"post_sale_void", "no_sale", "refund_no_receipt", "drawer_no_transaction"}
    no_sale = items["no_sale"]
    start = int((day + timedelta(minutes=2) - timedelta(seconds=30)).timestamp())
    assert no_sale.camera_id == "cam-pos"
    assert no_sale.clip_url == (
        f"http://frigate.local:5000/api/pos_counter/start/{start}/end/{start + 90}/clip.mp4"
    )
    refund = items["refund_no_receipt"]  # T2's camera is not in Frigate: a bookmark
    assert refund.camera_id == "cam-sales-1" and refund.clip_url is None
    assert refund.clip_from == day + timedelta(minutes=3) - timedelta(seconds=30)
    again = ingest(site_hub, store.site, [record("N1", day + timedelta(minutes=2), kind="no_sale")])
    assert again.exceptions == 0 and again.duplicates == 1


def test_a_rescan_finds_what_ingest_found_and_stores_nothing_twice(store, site_hub, day, clock):
    records = [record(f"S{i}", day + timedelta(minutes=i), total=1000) for i in range(50)]
    records += [
        record("N1", day + timedelta(minutes=3), kind="no_sale"),
        record("X1", day + timedelta(hours=-12), total=100),
    ]
    ingest(site_hub, store.site, records)
    with site_hub.unit_of_work() as session:
        from bastion.cash import settings as cash_settings

        flags, new = exceptions.scan(
            session=session,
            site=store.site,
            settings=cash_settings.load(session=session, site_id=store.site.site.id),
            since=day - timedelta(days=1),
            until=day + timedelta(days=1),
            now=clock.now() + timedelta(days=1),
        )
        assert {r: len(v) for r, v in flags.by_rule.items() if len(v)} == {
            "no_sale": 1,
            "outside_hours": 1,
        }
        assert new == 0
        assert session.query(PosException).count() == 2


def test_passing_the_till_limit_asks_for_a_drop_once_and_a_drop_ends_it(store, site_hub, day):
    from bastion.cash import movements, tills
    from bastion.cash import settings as cash_settings

    ingest(site_hub, store.site, [record("S1", day, total=90_000)])
    assert ledger_payloads(site_hub, "cash.drop_requested") == []
    result = ingest(site_hub, store.site, [record("S2", day + timedelta(minutes=1), total=20_000)])
    assert result.drop_requests == [store.register1]
    ingest(site_hub, store.site, [record("S3", day + timedelta(minutes=2), total=5_000)])
    (request,) = ledger_payloads(site_hub, "cash.drop_requested")
    assert (request["terminal"], request["balance_cents"], request["limit_cents"]) == (
        "T1",
        110_000,
        100_000,
    )
    notes = [json.loads(r.payload) for r in site_hub.ledger.query(types=["notify.requested"])]
    assert notes and "over its $1,000.00 limit" in notes[0]["message"]
    with site_hub.unit_of_work() as session:
        register = movements.get_container(session=session, container_id=store.register1)
        tills.drop(
            session=session,
            register=register,
            safe=movements.get_container(session=session, container_id=store.safe),
            amount_cents=60_000,
            settings=cash_settings.load(session=session, site_id=store.site.site.id),
            context=CTX,
            now=day + timedelta(minutes=3),
        )
        assert register.over_limit_since is None
    assert balance_of(site_hub, store.safe) == 60_000


def test_a_large_csv_batch_is_stored_whole_and_each_bad_line_is_refused_on_its_own(
    store, site_hub, day
):
    """More rows than one many-row INSERT holds, repeated tender texts, the same bad text twice."""
    from bastion.integrations.pos.formats import read_bastion_csv, write_bastion_csv

    sales = [
        record(f"B{i:04d}", day + timedelta(seconds=i), total=1000 + (i % 3) * 500)
        for i in range(601)
    ]
    lines = write_bastion_csv(sales).splitlines()
    bad = "{id},T1,0042," + day.isoformat() + ",sale,1000,0,cash:ten,,,,\n"
    export = "\n".join(lines) + "\n" + bad.format(id="X1") + bad.format(id="X2")
    parsed = read_bastion_csv(export)
    assert [r.line for r in parsed.rejects] == ["line 603", "line 604"]
    result = ingest(site_hub, store.site, parsed.records, parsed.rejects)
    assert (result.accepted, result.duplicates, result.rejected) == (601, 0, 2)
    expected = sum(r.cash_cents for r in sales)
    assert balance_of(site_hub, store.register1) == expected
    again = read_bastion_csv(export)
    resent = ingest(site_hub, store.site, again.records, again.rejects)
    assert (resent.accepted, resent.duplicates, resent.rejected) == (0, 601, 2)
    assert balance_of(site_hub, store.register1) == expected
    (first, _second) = ledger_payloads(site_hub, "cash.pos_batch")
    with site_hub.db.sessions() as session:
        stored = session.execute(
            text(
                "SELECT site_id, pos_id, terminal, register_id, cashier, person_id, at_ms, "
                "kind_code, total_cents, cash_cents, discount_cents, original_id, "
                "customer_code, reason, detail, batch_id FROM cash_pos_transactions "
                "WHERE batch_id = :b ORDER BY id"
            ),
            {"b": first["batch_id"]},
        ).all()
        kept = session.execute(select(PosRejection.line, PosRejection.reason)).all()
    assert [r[1] for r in stored] == [s.pos_id for s in sales]
    digest = hashlib.sha256(
        b"".join(pos.digest_row(tuple(r)).encode() + b"\n" for r in stored)
    ).hexdigest()
    assert first["digest"] == digest
    assert sorted(kept) == sorted(
        [("line 603", "a tender 'ten' is not a whole number of cents")] * 2
        + [("line 604", "a tender 'ten' is not a whole number of cents")] * 2
    )
