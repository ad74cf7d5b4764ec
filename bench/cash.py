"""Benchmark: a year of POS transactions for a 20-register store, and the exceptions over them.

Run: .venv/bin/python bench/cash.py [--quick] [--days N]
Full size: 365 days x 20 registers (about 2.0 million transactions and drawer events),
generated per day as Bastion CSV exports (generation is not timed) and ingested one file
per day through the POS adapter's reader and the cash domain's ingest into SQLite (WAL):
checks, duplicate look-ups, inserts, the till movements and ledger events, and the inline
exception rules with their review items. Then every exception rule is judged again over
the whole year straight from the database (the cash domain's rescan), and the peer --
plain pandas 3 in its own venv (.bench-venvs/pandas), in its own process -- reads the same
columns from the same database and computes the same exception flags with idiomatic
pandas (masks, tz_convert, merge_asof, grouped rolling sums). Both are best of 3, and
their flag counts must agree. --quick runs 30 days (about 165,000 records).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from bastion.cash import exceptions, movements, pos
from bastion.cash import settings as cash_settings
from bastion.cash.rules import hours_table
from bastion.cash.runtime import customer_key
from bastion.core.context import Context
from bastion.hub import open_hub
from bastion.integrations.pos.formats import read_bastion_csv
from bastion.settings import Settings
from bastion.site import service as site_service
from bastion.site.loader import load_site_file

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = ROOT / ".bench-venvs" / "pandas"
SEED = 20260307
REGISTERS = 20
PER_REGISTER_DAY = 272
FIRST_DAY = date(2025, 1, 6)
CTX = Context(actor="bench")
PRODUCTS = (
    ("FLOWER-3.5G", 3_500),
    ("PREROLL-1G", 1_200),
    ("VAPE-0.5G", 4_000),
    ("EDIBLE-100MG", 2_000),
    ("TINCTURE-30ML", 5_500),
)
HOLIDAYS = {
    h.date
    for s in load_site_file(ROOT / "examples" / "dispensary.yaml").holiday_sets
    for h in s.holidays
}
HEADER = "id,terminal,cashier,time,kind,total_cents,discount_cents,tenders,items,original_id,customer,reason\n"


def day_export(day: date, zone: ZoneInfo, rng: random.Random) -> tuple[str, int]:
    """Return one day's Bastion CSV for all registers, and how many records it holds."""
    lines = [HEADER]
    n = 0
    start, hours = (10, 8) if day.weekday() == 6 else (9, 12)
    if day in HOLIDAYS:
        start, hours = 10, 6
    opens = datetime(day.year, day.month, day.day, start, 0, tzinfo=zone).astimezone(UTC)
    span = hours * 3600
    for r in range(1, REGISTERS + 1):
        terminal, cashier = f"T{r:02d}", f"{1000 + (r * 7 + day.toordinal()) % 45}"
        times = sorted(rng.randrange(0, span) for _ in range(PER_REGISTER_DAY))
        sold: list[str] = []
        for i, offset in enumerate(times):
            n += 1
            pos_id = f"{day:%Y%m%d}-{terminal}-{i:04d}"
            when = opens + timedelta(seconds=offset)
            roll = rng.random()
            if roll < 0.003:  # before opening: an outside-hours sale
                when = opens - timedelta(minutes=rng.randrange(1, 50))
            stamp = when.isoformat()
            if roll < 0.006:
                lines.append(f"{pos_id},{terminal},{cashier},{stamp},no_sale,0,0,,,,,\n")
                continue
            if roll < 0.016 and sold:  # refund or void with its receipt
                kind = "refund" if roll < 0.013 else "void"
                lines.append(
                    f"{pos_id},{terminal},{cashier},{stamp},{kind},2500,0,cash:2500,,"
                    f"{rng.choice(sold)},,returned\n"
                )
                continue
            if roll < 0.019:  # refund without a receipt
                lines.append(f"{pos_id},{terminal},{cashier},{stamp},refund,1800,0,cash:1800,,,,\n")
                continue
            if roll < 0.021:  # a drawer opening with no transaction near it
                lines.append(f"{pos_id},{terminal},{cashier},{stamp},drawer_open,0,0,,,,,\n")
                continue
            sku, price = PRODUCTS[rng.randrange(len(PRODUCTS))]
            qty = rng.choice((1, 1, 2, 3))
            gross = price * qty
            discount = gross // 3 if roll < 0.031 else (gross // 10 if roll < 0.2 else 0)
            total = gross - discount
            tender = "cash" if rng.random() < 0.55 else "debit"
            customer = f"C{rng.randrange(20_000):05d}"
            if roll > 0.99995:  # a rare very large cash buyer (Form 8300)
                total, discount, tender, customer = 1_200_000, 0, "cash", "C99999"
            lines.append(
                f"{pos_id},{terminal},{cashier},{stamp},sale,{total},{discount},{tender}:{total},"
                f"{sku}*{qty}@{price},,{customer},\n"
            )
            sold.append(pos_id)
    return "".join(lines), n


def setup(data_dir: Path) -> tuple[Any, Any]:
    """Create the data directory, the dispensary, its 20 registers, a drop safe and the vault."""
    site = load_site_file(ROOT / "examples" / "dispensary.yaml")
    hub = open_hub(Settings(data_dir=data_dir), migrate=True, create_key=True)
    now = datetime.now(UTC)
    with hub.unit_of_work() as session:
        site_service.import_site(session=session, site=site, context=CTX, now=now)
        for r in range(1, REGISTERS + 1):
            movements.create_container(
                session=session,
                site=site,
                kind="register",
                name=f"Register {r}",
                zone_id="sales-floor",
                camera_id="cam-pos",
                terminal=f"T{r:02d}",
                context=CTX,
                now=now,
            )
        movements.create_container(
            session=session,
            site=site,
            kind="vault",
            name="Vault",
            zone_id="vault",
            context=CTX,
            now=now,
        )
    return hub, site


def ingest_year(hub: Any, site: Any, days: int) -> tuple[int, float, float, int]:
    """Ingest ``days`` daily exports; return records, wall and CPU seconds, review items."""
    rng = random.Random(SEED)
    zone = ZoneInfo(site.site.timezone)
    total, spent, cpu, items = 0, 0.0, 0.0, 0
    key = customer_key(hub)
    now = datetime.combine(FIRST_DAY + timedelta(days=days + 1), datetime.min.time(), UTC)
    for d in range(days):
        text, _count = day_export(FIRST_DAY + timedelta(days=d), zone, rng)
        start, start_cpu = time.perf_counter(), time.process_time()
        parsed = read_bastion_csv(text)
        with hub.unit_of_work() as session:
            result = pos.ingest(
                session=session,
                site=site,
                records=parsed.records,
                rejects=parsed.rejects,
                source="bench",
                context=CTX,
                now=now,
                settings=cash_settings.load(session=session, site_id=site.site.id),
                customer_key=key,
            )
        spent += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        total += result.accepted
        items += result.exceptions
    return total, spent, cpu, items


def ours(hub: Any, site: Any, days: int) -> tuple[float, dict[str, int], int]:
    """Rescan the whole period from the database (best of 3); return time and flag counts."""
    since = datetime.combine(FIRST_DAY - timedelta(days=1), datetime.min.time(), UTC)
    until = datetime.combine(FIRST_DAY + timedelta(days=days + 1), datetime.min.time(), UTC)
    best, counts, crossings = float("inf"), {}, 0
    for _ in range(3):
        with hub.db.sessions() as session:
            settings = cash_settings.load(session=session, site_id=site.site.id)
            start = time.perf_counter()
            flags, _ = exceptions.scan(
                session=session,
                site=site,
                settings=settings,
                since=since,
                until=until,
                now=until + timedelta(days=1),
                persist=False,
            )
            best = min(best, time.perf_counter() - start)
        counts = {rule: int(rows.shape[0]) for rule, rows in flags.by_rule.items()}
        crossings = int(flags.form_8300.shape[0])
    return best, counts, crossings


PEER_SCRIPT = r"""
import json, sqlite3, sys, time
import numpy as np
import pandas as pd

cfg = json.loads(open(sys.argv[1]).read())
def run():
    con = sqlite3.connect(cfg["db"])
    start = time.perf_counter()
    df = pd.read_sql_query(
        "SELECT id, terminal, cashier, at_ms, kind_code AS kind, total_cents AS total, "
        "cash_cents AS cash, discount_cents AS discount, original_id IS NOT NULL AS has_original, "
        "customer_code AS customer FROM cash_pos_transactions WHERE site_id = ? AND at_ms >= ? "
        "AND at_ms < ? ORDER BY at_ms", con, params=(cfg["site"], cfg["since"], cfg["until"]))
    flags = {}
    k = df["kind"]
    flags["post_sale_void"] = int(((k.isin([2, 3])) & (df["has_original"] == 1)).sum())
    flags["no_sale"] = int((k == 4).sum())
    flags["refund_no_receipt"] = int(((k == 2) & (df["has_original"] == 0)).sum())
    gross = df["total"] + df["discount"]
    flags["large_discount"] = int(((k == 1) & (df["discount"] > 0) & (
        (df["discount"] >= cfg["discount_cents"]) |
        (df["discount"] * 100 >= gross * cfg["discount_percent"]))).sum())
    local = pd.to_datetime(df["at_ms"], unit="ms", utc=True).dt.tz_convert(cfg["tz"])
    minute = local.dt.hour * 60 + local.dt.minute
    weekday = local.dt.dayofweek
    table = np.asarray(cfg["table"], dtype=bool)
    holiday_table = np.asarray(cfg["holiday_table"], dtype=bool)
    days = (local.dt.tz_localize(None).dt.normalize() - pd.Timestamp("1970-01-01")).dt.days
    is_holiday = days.isin(cfg["holidays"])
    open_now = np.where(is_holiday, holiday_table[weekday, minute], table[weekday, minute])
    flags["outside_hours"] = int(((k != 6) & (k != 0) & ~open_now).sum())
    drawers = df.loc[k == 6, ["terminal", "at_ms"]].sort_values("at_ms")
    others = df.loc[k != 6, ["terminal", "at_ms"]].rename(columns={"at_ms": "match"})
    others["at_ms"] = others["match"]
    others = others.sort_values("at_ms")
    joined = pd.merge_asof(drawers, others, on="at_ms", by="terminal", direction="nearest",
                           tolerance=cfg["window_ms"])
    judged = joined["at_ms"] + cfg["window_ms"] <= cfg["judged_until"]
    flags["drawer_no_transaction"] = int((joined["match"].isna() & judged).sum())
    buys = df.loc[(k == 1) & (df["cash"] > 0) & df["customer"].notna(),
                  ["customer", "at_ms", "cash"]].copy()
    buys["when"] = pd.to_datetime(buys["at_ms"], unit="ms")
    buys = buys.sort_values(["customer", "when"], kind="stable")
    rolled = buys.groupby("customer").rolling("24h", on="when")["cash"].sum()
    over = (rolled.to_numpy() > cfg["form_8300_cents"])
    same = buys["customer"].to_numpy()
    previous = np.concatenate(([False], over[:-1] & (same[1:] == same[:-1])))
    crossings = int((over & ~previous).sum())
    spent = time.perf_counter() - start
    con.close()
    return spent, flags, crossings

best, flags, crossings = float("inf"), {}, 0
for _ in range(3):
    spent, flags, crossings = run()
    best = min(best, spent)
print(json.dumps({"seconds": best, "flags": flags, "form_8300": crossings,
                  "pandas": pd.__version__}))
"""


def peer_python() -> Path:
    """Return the pandas venv's python, creating it (pandas, numpy) when missing."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "pandas", "numpy"], check=True)
    return python


def peer(db: Path, site: Any, days: int) -> dict[str, Any]:
    """Run the pandas version in its own venv and process; return its result."""
    settings = cash_settings.CashSettings()
    hours = hours_table(site, settings.business_schedule)
    assert hours is not None
    since = datetime.combine(FIRST_DAY - timedelta(days=1), datetime.min.time(), UTC)
    until = datetime.combine(FIRST_DAY + timedelta(days=days + 1), datetime.min.time(), UTC)
    window = settings.drawer_match_seconds * 1000
    cfg = {
        "db": str(db),
        "site": site.site.id,
        "since": int(since.timestamp() * 1000) - window,
        "until": int(until.timestamp() * 1000) + window,
        "judged_until": int(until.timestamp() * 1000),
        "tz": site.site.timezone,
        "table": hours.table.tolist(),
        "holiday_table": hours.holiday_table.tolist(),
        "holidays": hours.holidays.tolist(),
        "discount_cents": settings.discount_alert_cents,
        "discount_percent": settings.discount_alert_percent,
        "window_ms": window,
        "form_8300_cents": settings.form_8300_cents,
    }
    config = db.parent / "peer.json"
    config.write_text(json.dumps(cfg))
    out = subprocess.run(
        [str(peer_python()), "-c", PEER_SCRIPT, str(config)],
        check=True,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 days instead of a year")
    parser.add_argument("--days", type=int, default=None, help="days to generate")
    args = parser.parse_args()
    days = args.days or (30 if args.quick else 365)
    console = Console()
    ingest_rate, ours_s, peer_s = float("nan"), float("nan"), float("nan")
    with tempfile.TemporaryDirectory(prefix="bastion-cash-bench-") as tmp:
        data = Path(tmp) / "data"
        table = Table(title=f"Cash: {days} days x {REGISTERS} registers")
        for column in ("step", "Bastion", "pandas", "note"):
            table.add_column(column)
        try:
            hub, site = setup(data)
            load = os.getloadavg()[0]
            records, spent, cpu, items = ingest_year(hub, site, days)
            ingest_rate = records / spent
            table.add_row(
                "ingest (wall clock)",
                f"{ingest_rate:,.0f} records/s",
                "—",
                f"{records:,} records in {spent:.1f} s; {items:,} review items; "
                f"load average {load:.1f} on {os.cpu_count()} CPUs at the start",
            )
            table.add_row(
                "ingest (CPU time of this process)",
                f"{records / cpu:,.0f} records/s",
                "—",
                f"{cpu:.1f} CPU s",
            )
            ours_s, our_flags, our_8300 = ours(hub, site, days)
            hub.close()
            table.add_row("exceptions (from the database)", f"{ours_s:.3f} s", "", "best of 3")
        except Exception as exc:  # a busy or broken machine: report what was measured
            console.print(f"[red]Bastion side failed:[/] {exc!r}")
            our_flags, our_8300 = {}, -1
        try:
            result = peer(data / "bastion.db", site, days)
            peer_s = float(result["seconds"])
            same = result["flags"] == our_flags and result["form_8300"] == our_8300
            table.add_row(
                "exceptions, pandas " + result["pandas"],
                "",
                f"{peer_s:.3f} s",
                "best of 3; same flags as Bastion: " + ("yes" if same else "NO"),
            )
            for rule in sorted(our_flags):
                table.add_row(
                    f"  {rule}", f"{our_flags[rule]:,}", f"{result['flags'].get(rule, 0):,}", ""
                )
            table.add_row("  Form 8300 crossings", f"{our_8300:,}", f"{result['form_8300']:,}", "")
        except Exception as exc:
            console.print(f"[red]pandas peer failed:[/] {exc!r}")
        console.print(table)
    print(
        f"CASH ingest_per_s={ingest_rate:.0f} exceptions_s={ours_s:.3f} "
        f"pandas_exceptions_s={peer_s:.3f}"
    )


if __name__ == "__main__":
    main()
