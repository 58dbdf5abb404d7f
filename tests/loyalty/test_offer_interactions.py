"""The columnar order-line reader gives what the ORM gives, line for line, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from loyalty import orders
from loyalty.offers import interactions
from models import OrderLine
from tests.support import enroll, lines

NOW = datetime(2026, 6, 1, 9, 15, 42, 123456, tzinfo=UTC)


async def orm_interactions() -> pd.DataFrame:
    """The reference: every order line through the ORM, one tuple per line."""
    rows = await OrderLine.all().values_list(
        "order__member_id", "product_id", "order__placed_at", "quantity"
    )
    frame = pd.DataFrame(rows, columns=list(interactions.COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_localize(None)
    return frame


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(interactions.COLUMNS)).reset_index(drop=True)


async def test_the_stream_reads_the_same_lines_as_the_orm(database, monkeypatch):
    # given members with orders of several lines, at times with microseconds
    for m in range(3):
        await enroll(f"m-{m}")
        for o in range(4):
            await orders.record_order(
                database,
                orders.OrderInput(
                    f"o-{m}-{o}",
                    f"m-{m}",
                    lines((f"P-{o}", 1 + m, "3.00"), (f"P-{o + m}", 2, "1.25"), ("BEST", 1, "2")),
                    placed_at=NOW - timedelta(days=o, microseconds=7 * m),
                ),
            )
    # chunks smaller than the data, so rows are cut across chunk boundaries
    monkeypatch.setattr(interactions, "CHUNK_LINES", 5)

    streamed = await interactions.load_interactions()

    expected = await orm_interactions()
    assert len(streamed) == len(expected) == 3 * 4 * 3
    assert streamed.dtypes.to_dict() == {
        "member_id": "int64",
        "product_id": "int64",
        "timestamp": "datetime64[ns]",
        "quantity": "int64",
    }
    pd.testing.assert_frame_equal(canonical(streamed), canonical(expected), check_dtype=False)


async def test_no_lines_give_an_empty_frame_with_the_columns(database):
    streamed = await interactions.load_interactions()

    assert streamed.empty
    assert list(streamed.columns) == list(interactions.COLUMNS)


async def test_a_malformed_copy_stream_is_refused_after_it_ends():
    # a row of three fields where four are expected: noted, the rest skipped, raised at the end
    columns = interactions._Columns()
    reader = interactions._BinaryCopy(columns)
    header = interactions._SIGNATURE + bytes(8)
    row = (3).to_bytes(2, "big") + ((8).to_bytes(4, "big") + bytes(8)) * 4

    await reader(header + row + b"\xff\xff")

    with pytest.raises(ValueError, match="unexpected row"):
        reader.finish()
    assert columns.frame().empty
