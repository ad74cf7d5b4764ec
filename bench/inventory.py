"""Benchmark: a cultivation centre's year of inventory, imported and reconciled.

Run: .venv/bin/python bench/inventory.py [--quick] [--packages N] [--movements N]
Full size: 200,000 packages and 2,000,000 movements (plus a year of blind counts, POS and
state sale lines, harvests, batches, manifests and tracking users) in SQLite (WAL).

* import_per_s: Metrc v2 package list responses (--import-records packages, 1,000 per
  file) imported through the real all-or-nothing importer: parsing, checks, packages,
  their create movements and ledger events. The rest of the year is bulk-loaded with
  plain inserts (not timed) so the reconciliation has a year to chew on.
* reconcile_s: the reconciliation engine's ten checks over the whole year.
* sql_reconcile_s: the peer, the same ten checks written as plain SQL over the same
  tables, run on the same connection. Both best of 3; finding counts are compared.

Prints one line at the end:
INVENTORY import_per_s=<ours> reconcile_s=<ours> sql_reconcile_s=<peer>
A step that fails or runs out of time is reported as ``nan`` (with the reason above),
never a crash.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Connection

from bastion.core.context import Context
from bastion.hub import open_hub
from bastion.inventory import metrc, recon
from bastion.inventory.models import (
    InvCount,
    InvCountLine,
    InvHarvest,
    InvImport,
    InvItem,
    InvLocation,
    InvPackage,
    InvPlantBatch,
    InvSaleLine,
    InvTrackingUser,
    InvTransfer,
    InvTransferLine,
)
from bastion.settings import Settings
from bastion.site import service as site_service
from bastion.site.loader import load_site_file

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261203
CTX = Context(actor="bench")
START = datetime(2025, 1, 1, tzinfo=UTC)
NOW = START + timedelta(days=365)
CHUNK = 20_000


def tag(n: int, prefix: str = "1A4CULT") -> str:
    """Return a 24-character package tag."""
    return f"{prefix}{n:0{24 - len(prefix)}d}"


def metrc_file(first: int, count: int) -> bytes:
    """Return a Metrc v2 package list response of ``count`` packages."""
    data = [
        {
            "Id": 900_000 + n,
            "Label": tag(n, "1A4IMPT"),
            "PackageType": "Product",
            "Item": {"Name": f"Strain {n % 20} flower", "ProductCategoryName": "Flower"},
            "Quantity": 100 + n % 400,
            "UnitOfMeasureName": "Grams",
            "LocationName": f"Room {n % 10}",
            "PackagedDate": "2025-06-01",
            "SourcePackageLabels": "",
            "IsOnHold": False,
            "IsFinished": False,
            "LastModified": "2025-06-01T10:00:00+00:00",
        }
        for n in range(first, first + count)
    ]
    return json.dumps(
        {
            "Data": data,
            "Total": count,
            "TotalRecords": count,
            "PageSize": count,
            "RecordsOnPage": count,
            "Page": 1,
            "CurrentPage": 1,
            "TotalPages": 1,
        }
    ).encode()


MOVEMENT_SQL = (
    "INSERT INTO inv_movements (id, site_id, kind, package_id, tag, delta, unit, quantity_after, "
    "reason, method, at, actor, status, flags, reference, event_id, note) "
    "VALUES (?, ?, ?, ?, ?, ?, 'g', ?, ?, '', ?, ?, 'posted', '[]', '{}', 'E', ?)"
)


def stamp(at: datetime) -> str:
    """Return a UTC time as SQLAlchemy stores it in SQLite."""
    return at.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def load_year(conn: Connection, site_id: str, packages: int, movements: int) -> None:
    """Bulk-insert a year of inventory (not timed): a few anomalies of every kind."""
    rng = random.Random(SEED)
    conn.execute(
        insert(InvItem),
        [
            {
                "id": f"ITEM{i:022d}",
                "site_id": site_id,
                "name": f"Item {i}",
                "category": "Flower",
                "unit": "g",
                "unit_value_cents": 500 + 100 * i,
                "created_at": START,
            }
            for i in range(20)
        ],
    )
    conn.execute(
        insert(InvLocation),
        [
            {
                "id": f"LOC{i:023d}",
                "site_id": site_id,
                "name": f"Bulk room {i}",
                "zone_id": None,
                "kind": "storage",
                "is_quarantine": False,
                "created_at": START,
            }
            for i in range(10)
        ],
    )
    per = max(1, movements // packages)
    made = 0
    pkg_rows: list[dict[str, Any]] = []
    mov_rows: list[tuple[Any, ...]] = []
    reasons = ("Drying", "Drying", "Entry Error", "Theft")

    def flush_movements() -> None:
        conn.exec_driver_sql(MOVEMENT_SQL, mov_rows)
        mov_rows.clear()

    for p in range(packages):
        pid = f"PKG{p:023d}"
        label = tag(p)
        initial = (100 + p % 900) * 10_000
        qty = initial
        born = START + timedelta(seconds=rng.randrange(0, 300 * 86400))
        mov_rows.append(
            (
                f"MOV{made:023d}",
                site_id,
                "create",
                pid,
                label,
                initial,
                initial,
                "",
                stamp(born),
                "bench",
                None,
            )
        )
        made += 1
        for k in range(per - 1):
            at = born + timedelta(hours=6 * (k + 1))
            roll = rng.random()
            if roll < 0.1:
                delta, kind, reason = -rng.randrange(1, 5) * 1_000, "adjust", rng.choice(reasons)
                actor = f"user:{rng.randrange(1, 40)}"
            elif roll < 0.5:
                delta, kind, reason, actor = -min(qty, 35_000), "sale", "", "pos"
            else:
                delta, kind, reason, actor = 0, "move", "", f"user:{rng.randrange(1, 40)}"
            delta = max(delta, -qty)
            qty += delta
            note = "checked" if reason == "Theft" else None
            mov_rows.append(
                (
                    f"MOV{made:023d}",
                    site_id,
                    kind,
                    pid,
                    label,
                    delta,
                    qty,
                    reason,
                    stamp(at),
                    actor,
                    note,
                )
            )
            made += 1
        if p % 5_000 == 17:
            qty += 10_000  # edited behind the log's back
        pkg_rows.append(
            {
                "id": pid,
                "site_id": site_id,
                "tag": label,
                "item_id": f"ITEM{p % 20:022d}",
                "location_id": f"LOC{p % 10:023d}",
                "quantity": qty,
                "initial_quantity": initial,
                "unit": "g",
                "status": "active",
                "on_hold": False,
                "source_tags": [],
                "harvest_id": None,
                "external_ids": {},
                "created_at": born,
                "updated_at": born,
            }
        )
        if len(mov_rows) >= CHUNK:
            flush_movements()
        if len(pkg_rows) >= CHUNK:
            conn.execute(insert(InvPackage), pkg_rows)
            pkg_rows = []
    if mov_rows:
        flush_movements()
    if pkg_rows:
        conn.execute(insert(InvPackage), pkg_rows)
    counts, lines, sales = [], [], []
    for d in range(365):
        day = START + timedelta(days=d, hours=20)
        cid = f"CNT{d:023d}"
        counts.append(
            {
                "id": cid,
                "site_id": site_id,
                "day": day.date().isoformat(),
                "status": "completed",
                "counters": [1],
                "witness_user_id": 2,
                "seed": "s",
                "started_at": day,
                "started_by": "bench",
                "completed_at": day,
            }
        )
        for _k in range(10):
            p = rng.randrange(packages)
            book = 1_000_000
            lines.append(
                {
                    "count_id": cid,
                    "package_id": f"PKG{p:023d}",
                    "tag": tag(p),
                    "location_id": f"LOC{p % 10:023d}",
                    "system_qty": book,
                    "counted_qty": book - (10_000 if rng.random() < 0.02 else 0),
                }
            )
        for r in range(300):
            p = rng.randrange(packages)
            at = START + timedelta(days=d, hours=15 + r % 8, minutes=r % 60)
            row = {
                "site_id": site_id,
                "receipt": f"R{d}-{r}",
                "at": at,
                "day": at.date().isoformat(),
                "tag": tag(p),
                "quantity": 35_000,
                "unit": "g",
                "price_cents": 3_500,
            }
            sales.append({**row, "source": "pos"})
            if rng.random() > 0.001:
                sales.append({**row, "source": "metrc"})
    conn.execute(insert(InvCount), counts)
    conn.execute(insert(InvCountLine), lines)
    for i in range(0, len(sales), CHUNK):
        conn.execute(insert(InvSaleLine), sales[i : i + CHUNK])
    conn.execute(
        insert(InvHarvest),
        [
            {
                "id": f"HRV{h:023d}",
                "site_id": site_id,
                "name": f"H{h}",
                "strain": "OG",
                "unit": "g",
                "wet_weight": 100_000_000,
                "waste_weight": 5_000_000,
                "packaged_weight": 25_000_000 if h % 9 else 60_000_000,
                "current_weight": 0,
                "plant_count": 100,
                "started_at": START + timedelta(days=7 * h),
                "finished_at": START + timedelta(days=7 * h + 14),
                "external_ids": {},
            }
            for h in range(50)
        ],
    )
    conn.execute(
        insert(InvPlantBatch),
        [
            {
                "id": f"BAT{b:023d}",
                "site_id": site_id,
                "name": f"B{b}",
                "kind": "Clone",
                "strain": "OG",
                "count": 100,
                "live_count": 0,
                "packaged_count": 0,
                "harvested_count": 100 if b % 13 else 98,
                "destroyed_count": 0,
                "planted_at": START,
                "external_ids": {},
            }
            for b in range(100)
        ],
    )
    conn.execute(
        insert(InvTransfer),
        [
            {
                "id": f"TRF{t:023d}",
                "site_id": site_id,
                "manifest_no": f"M{t:09d}",
                "direction": "out",
                "shipper_license": "CO-1",
                "recipient_license": "CO-2",
                "status": "in_transit" if t % 97 == 0 else "received",
                "departed_at": START + timedelta(days=t % 360),
                "received_at": None,
                "external_ids": {},
            }
            for t in range(500)
        ],
    )
    conn.execute(
        insert(InvTransferLine),
        [
            {
                "transfer_id": f"TRF{t:023d}",
                "tag": tag(t * 10 + k),
                "unit": "g",
                "shipped_qty": 100_000,
                "received_qty": 100_000 - (10_000 if (t + k) % 211 == 0 else 0),
                "state": "Accepted",
            }
            for t in range(500)
            for k in range(10)
        ],
    )
    conn.execute(
        insert(InvTrackingUser),
        [
            {"site_id": site_id, "name": f"Grower {u}", "license_no": f"E{u}", "seen_at": NOW}
            for u in range(30)
        ],
    )
    conn.execute(
        insert(InvImport),
        [
            {
                "id": "IMP0000000000000000000000",
                "site_id": site_id,
                "source": "metrc",
                "kind": "packages",
                "digest": "x",
                "filename": "",
                "status": "accepted",
                "accepted": 1,
                "rejected": 0,
                "error": "",
                "at": NOW - timedelta(hours=2),
                "actor": "bench",
            }
        ],
    )


SQL_CHECKS = {
    "physical": """
        SELECT l.tag, l.counted_qty - l.system_qty FROM inv_count_lines l
        JOIN inv_counts c ON c.id = l.count_id
        JOIN inv_packages p ON p.id = l.package_id JOIN inv_items i ON i.id = p.item_id
        WHERE c.site_id = :site AND c.status = 'completed' AND c.completed_at >= :since
          AND l.counted_qty <> l.system_qty""",
    "pos_vs_tracking": """
        SELECT day, tag FROM inv_sale_lines WHERE site_id = :site AND at >= :since
        GROUP BY day, tag
        HAVING SUM(CASE WHEN source = 'pos' THEN quantity ELSE 0 END)
            <> SUM(CASE WHEN source <> 'pos' THEN quantity ELSE 0 END)""",
    "pos_hours": """
        SELECT DISTINCT receipt, source FROM inv_sale_lines
        WHERE site_id = :site AND at >= :since AND source <> 'ccrs'
          AND CAST(strftime('%H', datetime(at, '-7 hours')) AS INTEGER) NOT BETWEEN 8 AND 21""",
    "mass_balance": """
        SELECT name FROM inv_harvests WHERE site_id = :site AND wet_weight > 0 AND (
          (finished_at IS NOT NULL AND ((wet_weight - waste_weight - packaged_weight - current_weight) * 100.0
             / wet_weight NOT BETWEEN 60 AND 85))
          OR (finished_at IS NULL AND started_at < :open_since))""",
    "lineage": """
        SELECT p.tag FROM inv_packages p LEFT JOIN (
          SELECT package_id, SUM(delta) AS total FROM inv_movements
          WHERE site_id = :site AND status IN ('posted', 'confirmed') GROUP BY package_id) m
          ON m.package_id = p.id
        WHERE p.site_id = :site AND (p.quantity <> COALESCE(m.total, 0) OR p.quantity < 0)""",
    "batch_counts": """
        SELECT name FROM inv_plant_batches WHERE site_id = :site
          AND count <> live_count + packaged_count + harvested_count + destroyed_count""",
    "transfers": """
        SELECT t.manifest_no, l.tag FROM inv_transfers t JOIN inv_transfer_lines l ON l.transfer_id = t.id
        WHERE t.site_id = :site AND l.received_qty IS NOT NULL AND l.received_qty <> l.shipped_qty
        UNION ALL
        SELECT manifest_no, '' FROM inv_transfers
        WHERE site_id = :site AND status = 'in_transit' AND departed_at < :transit""",
    "adjustments": """
        SELECT actor, strftime('%Y-%W', datetime(at, '-7 hours')) AS wk, reason, COUNT(*) FROM inv_movements
        WHERE site_id = :site AND kind = 'adjust' AND at >= :since
          AND reason IN ('Theft', 'Entry Error', 'Drying')
        GROUP BY actor, wk, reason HAVING COUNT(*) > 3""",
    "adjustment_notes": """
        SELECT tag FROM inv_movements WHERE site_id = :site AND kind = 'adjust' AND at >= :since
          AND note IS NULL AND reason IN ('Theft', 'Lost', 'Seizure', 'Entry Error', 'Other')""",
    "tags": """
        SELECT p.tag FROM inv_packages p JOIN inv_plants pl ON pl.tag = p.tag WHERE p.site_id = :site
        UNION ALL
        SELECT tag FROM inv_packages WHERE site_id = :site
          AND (length(tag) <> 24 OR upper(tag) <> tag OR tag GLOB '*[^0-9A-Z]*')""",
    "users": """
        SELECT u.id FROM inv_tracking_users u WHERE u.site_id = :site AND NOT EXISTS (
          SELECT 1 FROM people p WHERE p.site_id = u.site_id AND p.status = 'active'
            AND p.name = u.name)""",
    "freshness": """
        SELECT MAX(at) FROM inv_imports WHERE site_id = :site AND status = 'accepted'
        HAVING MAX(at) < :stale""",
}


def sql_reconcile(conn: Connection, site_id: str) -> int:
    """Run the ten checks as plain SQL; return how many rows they flag."""
    since = (NOW - timedelta(days=366)).replace(tzinfo=None)
    args = {
        "site": site_id,
        "since": since,
        "open_since": (NOW - timedelta(days=45)).replace(tzinfo=None),
        "transit": (NOW - timedelta(hours=24)).replace(tzinfo=None),
        "stale": (NOW - timedelta(hours=24)).replace(tzinfo=None),
    }
    return sum(len(conn.execute(text(q), args).all()) for q in SQL_CHECKS.values())


def best(fn: Any, deadline: float, runs: int = 3) -> tuple[float, Any]:
    """Return the best wall time of up to ``runs`` calls and the last result.

    Repeats only while there is time left before ``deadline`` (a busy machine gets one run).
    """
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
        if time.perf_counter() + times[-1] > deadline:
            break
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 packages, 200,000 movements")
    parser.add_argument("--packages", type=int, default=200_000)
    parser.add_argument("--movements", type=int, default=2_000_000)
    parser.add_argument("--import-records", type=int, default=5_000)
    parser.add_argument("--budget", type=float, default=1_500.0, help="seconds for the whole run")
    args = parser.parse_args()
    if args.quick:
        args.packages, args.movements, args.import_records = 20_000, 200_000, 2_000
    deadline = time.perf_counter() + args.budget
    site = load_site_file(ROOT / "examples" / "cultivation.yaml")
    site_id = site.site.id
    import_rate = reconcile_s = sql_s = float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        hub = open_hub(Settings(data_dir=Path(tmp)), migrate=True, create_key=True)
        try:
            with hub.unit_of_work() as session:
                site_service.import_site(session=session, site=site, context=CTX, now=NOW)
            try:
                done, spent = 0, 0.0
                per_file = 1_000
                for first in range(0, args.import_records, per_file):
                    data = metrc_file(first, min(per_file, args.import_records - first))
                    start = time.perf_counter()
                    with hub.unit_of_work() as session:
                        result = metrc.import_file(
                            session,
                            site=site,
                            kind="packages",
                            data=data,
                            license_no=site.site.license_number,
                            context=CTX,
                            now=NOW,
                        )
                    spent += time.perf_counter() - start
                    if result.status != "accepted":
                        raise RuntimeError(result.message)
                    done += result.accepted
                import_rate = done / spent
                print(f"import: {done} packages in {spent:.2f} s", file=sys.stderr)
            except Exception as exc:  # report, never crash
                print(f"import failed: {exc}", file=sys.stderr)
            start = time.perf_counter()
            with hub.db.engine.begin() as conn:
                load_year(conn, site_id, args.packages, args.movements)
            print(
                f"bulk load: {args.packages} packages, ~{args.movements} movements in "
                f"{time.perf_counter() - start:.1f} s (not timed)",
                file=sys.stderr,
            )
            with hub.db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
            try:
                with hub.db.sessions() as session:
                    reconcile_s, found = best(
                        lambda: recon.evaluate(session, site=site, now=NOW, days=366),
                        deadline - 300,
                    )
                print(f"engine: {len(found)} findings, {reconcile_s:.2f} s", file=sys.stderr)
            except Exception as exc:
                print(f"engine failed: {exc}", file=sys.stderr)
            try:
                with hub.db.engine.connect() as conn:
                    sql_s, flagged = best(lambda: sql_reconcile(conn, site_id), deadline)
                print(f"sql peer: {flagged} rows flagged, {sql_s:.2f} s", file=sys.stderr)
            except Exception as exc:
                print(f"sql peer failed: {exc}", file=sys.stderr)
        finally:
            hub.close()
    print(
        f"INVENTORY import_per_s={import_rate:.0f} reconcile_s={reconcile_s:.2f} sql_reconcile_s={sql_s:.2f}"
    )


if __name__ == "__main__":
    main()
