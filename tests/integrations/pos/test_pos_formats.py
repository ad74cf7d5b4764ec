"""The POS readers: Bastion JSON and CSV, and Toast's PaymentDetails.csv; bad lines are kept."""

from __future__ import annotations

from datetime import UTC, datetime

from bastion.core.ports import PosItem, PosKind, PosRecord, PosTender
from bastion.integrations.pos.formats import (
    read_bastion_csv,
    read_json,
    read_toast_payments,
    write_bastion_csv,
)

CHICAGO = "America/Chicago"

# Column names as listed by Toast's data export field reference for PaymentDetails.csv.
TOAST_HEADER = (
    "Location,Payment Id,Order Id,Order #,Paid Date,Order Date,Check Id,Check #,Tab Name,"
    "Server,Table,Dining Area,Service,Dining Option,House Acct #,Amount,Tip,Gratuity,Total,"
    "Swiped Card Amount,Keyed Card Amount,Amount Tendered,Refunded,Refund Date,Refund Amount,"
    "Refund Tip Amount,Void User,Void Approver,Void Date,Status,Type,Cash Drawer,Card Type"
)


def toast_row(**values: str) -> str:
    names = TOAST_HEADER.split(",")
    row = dict.fromkeys(names, "")
    row.update(
        {
            "Location": "West Loop",
            "Order #": "17",
            "Status": "CAPTURED",
            "Server": "Dana",
        }
    )
    row.update(values)
    return ",".join(row[n] for n in names)


def test_json_transactions_are_read_and_cash_comes_from_the_cash_tenders():
    parsed = read_json(
        {
            "transactions": [
                {
                    "id": "R1-1",
                    "terminal": "T1",
                    "cashier": "0042",
                    "time": "2026-03-07T09:15:00-06:00",
                    "kind": "sale",
                    "total_cents": 5500,
                    "discount_cents": 500,
                    "items": [{"sku": "FLW-3.5", "qty": 1, "unit_cents": 6000}],
                    "tenders": [
                        {"kind": "cash", "amount_cents": 2500},
                        {"kind": "card", "amount_cents": 3000},
                    ],
                    "customer": "C-77",
                },
                {
                    "id": "R1-2",
                    "terminal": "T1",
                    "cashier": "0042",
                    "time": "2026-03-07T15:20:00Z",
                    "kind": "refund",
                    "total_cents": 1200,
                    "tenders": [{"kind": "cash", "amount_cents": 1200}],
                },
                {"id": "R1-3", "terminal": "T1", "cashier": "1", "time": "x", "kind": "sale"},
                {
                    "id": "R1-4",
                    "terminal": "T1",
                    "cashier": "1",
                    "kind": "sale",
                    "time": "2026-03-07T09:15:00-06:00",
                    "total_cents": 12.5,
                },
                {
                    "id": "R1-5",
                    "terminal": "T1",
                    "cashier": "1",
                    "kind": "sale",
                    "time": "2026-03-07T09:15:00",
                    "total_cents": 100,
                },
                {
                    "id": "R1-6",
                    "terminal": "T1",
                    "cashier": "1",
                    "kind": "sale",
                    "time": "2026-03-07T09:15:00Z",
                    "price": 100,
                },
                "not an object",
            ]
        }
    )
    sale, refund = parsed.records
    assert sale.cash_cents == 2500 and sale.discount_cents == 500
    assert sale.items == (PosItem("FLW-3.5", 1, 6000),) and sale.customer_ref == "C-77"
    assert sale.time == datetime(2026, 3, 7, 15, 15, tzinfo=UTC)
    assert refund.kind is PosKind.REFUND and refund.cash_cents == -1200
    assert refund.original_id is None
    reasons = {r.line: r.reason for r in parsed.rejects}
    assert "not an ISO 8601" in reasons["#2"]
    assert "whole number of cents" in reasons["#3"]
    assert "UTC offset" in reasons["#4"]
    assert "unknown field(s): price" in reasons["#5"]
    assert "JSON object" in reasons["#6"]
    assert read_json({"oops": 1}).rejects[0].line == "body"


def test_bastion_csv_round_trips_and_reports_bad_lines_by_number():
    records = [
        PosRecord(
            pos_id="A1",
            terminal="T2",
            cashier="0007",
            time=datetime(2026, 3, 7, 16, 0, tzinfo=UTC),
            kind=PosKind.SALE,
            total_cents=4000,
            cash_cents=4000,
            items=(PosItem("PRE-1g", 2, 2000),),
            tenders=(PosTender("cash", 4000),),
            customer_ref="C-1",
            line="line 2",
        ),
        PosRecord(
            pos_id="A2",
            terminal="T2",
            cashier="0007",
            time=datetime(2026, 3, 7, 16, 5, tzinfo=UTC),
            kind=PosKind.NO_SALE,
            line="line 3",
        ),
    ]
    text = write_bastion_csv(records)
    read = read_bastion_csv(text).records
    assert [r._replace(detail=None) for r in read] == records
    assert read[0].detail == "PRE-1g*2@2000|cash:4000" and read[1].detail is None
    broken = text + "A3,T2,0007,2026-03-07T16:06:00+00:00,sale,abc,0,,,,,\nA4,T2\n"
    broken += "A5,T2,0007,2026-03-07T16:07:00+00:00,sale,100,0,cash=100,,,,\n"
    parsed = read_bastion_csv(broken)
    assert [r.pos_id for r in parsed.records] == ["A1", "A2"]
    assert [(r.line, r.reason) for r in parsed.rejects] == [
        ("line 4", "total_cents 'abc' is not a whole number of cents"),
        ("line 5", "2 fields where the header has 12"),
        ("line 6", "tender 'cash=100' is not kind:cents"),
    ]
    assert read_bastion_csv("id,terminal\n").rejects[0].reason.startswith("the header lacks")


def test_toast_payments_become_sales_refunds_and_voids_in_local_time():
    text = "\n".join(
        [
            TOAST_HEADER,
            toast_row(
                **{
                    "Payment Id": "9001",
                    "Paid Date": "03/07/2026 10:04:05",
                    "Amount": "45.00",
                    "Total": "45.00",
                    "Type": "Cash",
                    "Amount Tendered": "50.00",
                    "Cash Drawer": "T1",
                }
            ),
            toast_row(
                **{
                    "Payment Id": "9002",
                    "Paid Date": "03/07/2026 10:30:00",
                    "Amount": "20.00",
                    "Total": "20.00",
                    "Type": "Credit",
                }
            ),
            toast_row(
                **{
                    "Payment Id": "9003",
                    "Paid Date": "03/07/2026 11:00:00",
                    "Total": "30.00",
                    "Type": "Cash",
                    "Cash Drawer": "T1",
                    "Refunded": "FULL",
                    "Refund Date": "03/07/2026 12:00:00",
                    "Refund Amount": "30.00",
                }
            ),
            toast_row(
                **{
                    "Payment Id": "9004",
                    "Paid Date": "03/07/2026 13:00:00",
                    "Total": "12.00",
                    "Type": "Cash",
                    "Cash Drawer": "T1",
                    "Void User": "Morgan",
                    "Void Approver": "Lee",
                    "Void Date": "03/07/2026 13:02:00",
                }
            ),
            toast_row(
                **{
                    "Payment Id": "9005",
                    "Paid Date": "2026-03-07 13:00",
                    "Total": "1.00",
                    "Type": "Cash",
                    "Cash Drawer": "T1",
                }
            ),
            toast_row(
                **{
                    "Payment Id": "9006",
                    "Paid Date": "03/07/2026 13:00:00",
                    "Total": "1.005",
                    "Type": "Cash",
                    "Cash Drawer": "T1",
                }
            ),
            toast_row(
                **{
                    "Location": "Elsewhere",
                    "Payment Id": "9007",
                    "Paid Date": "03/07/2026 13:00:00",
                    "Total": "1.00",
                    "Type": "Cash",
                    "Cash Drawer": "T1",
                }
            ),
        ]
    )
    parsed = read_toast_payments(
        text, timezone=CHICAGO, default_terminal="T2", location="West Loop"
    )
    got = {r.pos_id: r for r in parsed.records}
    assert set(got) == {
        "toast-9001",
        "toast-9002",
        "toast-9003",
        "toast-9003-refund",
        "toast-9004",
        "toast-9004-void",
    }
    cash_sale = got["toast-9001"]
    assert cash_sale.time == datetime(2026, 3, 7, 16, 4, 5, tzinfo=UTC)  # CST is UTC-6
    assert (cash_sale.terminal, cash_sale.cashier, cash_sale.cash_cents) == ("T1", "Dana", 4500)
    assert got["toast-9002"].terminal == "T2" and got["toast-9002"].cash_cents == 0
    refund = got["toast-9003-refund"]
    assert (refund.kind, refund.cash_cents, refund.original_id) == (
        PosKind.REFUND,
        -3000,
        "toast-9003",
    )
    void = got["toast-9004-void"]
    assert (void.kind, void.cashier, void.reason) == (PosKind.VOID, "Morgan", "approved by Lee")
    reasons = sorted(r.reason for r in parsed.rejects)
    assert reasons == [
        "Paid Date '2026-03-07 13:00' is not MM/DD/YYYY HH:MM:SS",
        "Total '1.005' has more than two decimals",
    ]
    without_default = read_toast_payments(text, timezone=CHICAGO)
    assert any("no Cash Drawer" in r.reason for r in without_default.rejects)


def test_bastion_csv_reads_the_same_with_or_without_quotes_and_carriage_returns():
    """Plain files are split directly; quoted or CRLF files go through the csv module."""
    header = (
        "id,terminal,cashier,time,kind,total_cents,discount_cents,tenders,items,"
        "original_id,customer,reason"
    )
    body = [
        "B1,T1,0007,2026-03-07T16:00:00+00:00,sale,2500,0,cash:2500,PRE-1g*1@2500,,C-9,",
        "",
        "B2,T1,0007,2026-03-07T16:01:00+00:00,refund,2500,0,cash:2500,,B1,,returned",
        "B3,T1,0007,2026-03-07T16:02:00+00:00,sale,x,0,,,,,",
        "B4,T1",
        "B5,T1,0007,2026-03-07T16:03:00+00:00,sale,900,0,cash:900;card:0,,,,",
    ]
    plain = "\n".join([header, *body]) + "\n"
    crlf = plain.replace("\n", "\r\n")
    quoted = plain.replace(",returned", ',"returned"')
    results = [read_bastion_csv(t) for t in (plain, crlf, quoted)]
    for parsed in results:
        assert [r._replace(line="") for r in parsed.records] == [
            r._replace(line="") for r in results[0].records
        ]
        assert [r.line for r in parsed.records] == ["line 2", "line 4", "line 7"]
        assert [(r.line, r.reason) for r in parsed.rejects] == [
            ("line 5", "total_cents 'x' is not a whole number of cents"),
            ("line 6", "2 fields where the header has 12"),
        ]
    first = results[0].records
    assert [r.cash_cents for r in first] == [2500, -2500, 900]
    assert first[1].original_id == "B1" and first[1].reason == "returned"
