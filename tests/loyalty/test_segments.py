"""Segments: points, last order, RFM quintiles and at-risk on a data set scored by hand.

Orders (days before NOW x amount):  ann 5 x 100 | bob 100, 95, 90, 80 x 10 | cat 30, 20, 10 x 50
| dan 200 x 20 | eve none | fay 70, 65 x 30.  Points equal the amounts.

RFM among the five who ordered (PERCENT_RANK, quintile 1-5, ties share the lower score):
recency   dan 1  bob 2  fay 3  cat 4  ann 5
frequency ann 1  dan 1  fay 3  cat 4  bob 5
monetary  dan 1  bob 2  fay 3  ann 4  cat 5
sum       ann 10 bob 9  cat 13 dan 3  fay 9
At risk (no order in 60 days, >= 3 orders in the 90 days before): bob only.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.errors import InvalidInput
from loyalty.reports import segments
from loyalty.reports.segments import SegmentFilter
from tests.support import enroll, order

pytestmark = pytest.mark.usefixtures("database")
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
ORDERS = {
    "ann": [(5, "100.00")],
    "bob": [(100, "10.00"), (95, "10.00"), (90, "10.00"), (80, "10.00")],
    "cat": [(30, "50.00"), (20, "50.00"), (10, "50.00")],
    "dan": [(200, "20.00")],
    "eve": [],
    "fay": [(70, "30.00"), (65, "30.00")],
}


@pytest.fixture
async def shoppers(database) -> None:
    for name, placed in ORDERS.items():
        await enroll(name)
        for i, (days, amount) in enumerate(placed):
            await order(database, f"{name}-{i}", name, amount, placed_at=NOW - timedelta(days=days))


async def names(f: SegmentFilter) -> list[str]:
    found, more = await segments.find(f, None, now=NOW)
    assert more is False
    return [m.external_id for m in found]


@pytest.mark.usefixtures("shoppers")
async def test_rfm_scores_are_the_hand_computed_quintiles(database):
    found, _ = await segments.find(SegmentFilter(), None, now=NOW)

    scores = {m.external_id: (m.recency, m.frequency, m.monetary, m.rfm) for m in found}
    assert scores == {
        "ann": (5, 1, 4, 10),
        "bob": (2, 5, 2, 9),
        "cat": (4, 4, 5, 13),
        "dan": (1, 1, 1, 3),
        "eve": (None, None, None, None),
        "fay": (3, 3, 3, 9),
    }
    cat = next(m for m in found if m.external_id == "cat")
    assert (cat.orders, cat.spend_cents, cat.balance) == (3, 150_00, 150)
    assert cat.last_order_at == NOW - timedelta(days=10)


@pytest.mark.usefixtures("shoppers")
@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (SegmentFilter(min_points=50, max_points=120), ["ann", "fay"]),
        (SegmentFilter(max_points=0), ["eve"]),
        (SegmentFilter(last_order_before=NOW - timedelta(days=60)), ["bob", "dan", "fay"]),
        (SegmentFilter(last_order_after=NOW - timedelta(days=60)), ["ann", "cat"]),
        (SegmentFilter(min_rfm=10), ["ann", "cat"]),
        (SegmentFilter(min_recency=4), ["ann", "cat"]),
        (SegmentFilter(min_frequency=4), ["bob", "cat"]),
        (SegmentFilter(min_monetary=5), ["cat"]),
        (SegmentFilter(at_risk=True), ["bob"]),
        (SegmentFilter(at_risk=False), ["ann", "cat", "dan", "eve", "fay"]),
        (SegmentFilter(at_risk=False, min_points=50), ["ann", "cat", "fay"]),
        # a 5-day quiet spell, 2 orders make a regular: cat and fay qualify, ann (5 days) does not
        (SegmentFilter(at_risk=True, at_risk_days=5, regular_orders=2), ["bob", "cat", "fay"]),
    ],
)
async def test_filters_select_the_hand_picked_members(database, f, expected):
    assert await names(f) == expected


@pytest.mark.usefixtures("shoppers")
async def test_a_segment_pages_in_enrolment_order(database):
    first, more = await segments.find(SegmentFilter(), 4, now=NOW)
    rest, more_after = await segments.find(SegmentFilter(), 4, first[-1].member_id, now=NOW)

    assert [m.external_id for m in first] == ["ann", "bob", "cat", "dan"]
    assert more is True
    assert [m.external_id for m in rest] == ["eve", "fay"]
    assert more_after is False


@pytest.mark.usefixtures("shoppers")
async def test_the_csv_export_has_a_header_and_one_line_per_member(database):
    text = await segments.to_csv(SegmentFilter(min_points=100), now=NOW)

    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(segments.CSV_COLUMNS)
    assert rows[1:] == [
        ["ann", "ann@example.com", "100", "1", "100.00",
         (NOW - timedelta(days=5)).isoformat(), "5", "1", "4", "no"],
        ["cat", "cat@example.com", "150", "3", "150.00",
         (NOW - timedelta(days=10)).isoformat(), "4", "4", "5", "no"],
    ]  # fmt: skip


async def test_the_csv_export_defuses_formula_cells(database):
    await enroll("=HYPERLINK(1)", email="x@example.com")

    text = await segments.to_csv(SegmentFilter(), now=NOW)

    assert list(csv.reader(io.StringIO(text)))[1][0] == "'=HYPERLINK(1)"


async def test_the_csv_export_defuses_formulas_after_a_separator_inside_a_cell(database):
    await enroll("a,=cmd", email="x;+1@example.com")

    text = await segments.to_csv(SegmentFilter(), now=NOW)

    assert list(csv.reader(io.StringIO(text)))[1][:2] == ["a,'=cmd", "x;'+1@example.com"]
    assert text.splitlines()[1].startswith('"a,\'=cmd","x;\'+1@example.com",')


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("a,=cmd", "a,'=cmd"),
        ("x;+1", "x;'+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("a|-1", "a|'-1"),
        ("\t=1", "'\t'=1"),
        ("line\n=2", "line\n'=2"),
        ("cj-1", "cj-1"),
        ("ann@example.com", "ann@example.com"),
    ],
)
def test_spreadsheet_csv_neutralises_formula_characters_at_any_cell_start(cell, safe):
    text = segments.spreadsheet_csv([[cell]])

    assert list(csv.reader(io.StringIO(text))) == [[safe]]


def test_spreadsheet_csv_quotes_every_text_cell_and_leaves_numbers_bare():
    text = segments.spreadsheet_csv([["plain", "", 5, -3, Decimal("2.50")]])

    assert text == '"plain","",5,-3,2.50\n'


async def test_out_of_range_scores_are_refused(database):
    with pytest.raises(InvalidInput):
        await segments.find(SegmentFilter(min_recency=6), 10)
    with pytest.raises(InvalidInput):
        await segments.find(SegmentFilter(min_rfm=2), 10)
