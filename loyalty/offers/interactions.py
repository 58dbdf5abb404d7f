"""Order lines as the recommender's interactions, read as a columnar stream.

Training reads every order line of every member, so this read must not grow a Python object per
line: on PostgreSQL the lines come as ``COPY ... TO STDOUT (FORMAT binary)``, whose rows here
are fixed-width (four non-null 8-byte fields), and each block of bytes is cut into numpy columns
with one ``frombuffer``; on SQLite a cursor is read in chunks of ``CHUNK_LINES`` rows, each
chunk turned into arrays before the next is fetched. Either way memory holds the columns
(32 bytes a line) and one chunk in flight.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.offers.offerable import OFFERABLE
from models import Member

CHUNK_LINES = 100_000
COLUMNS = ("member_id", "product_id", "timestamp", "quantity")
# member, product, time, quantity of every line of every order, of the products that may be
# offered: what the model learns from is what it may offer
_SELECT = (
    "SELECT o.member_id{cast}, l.product_id{cast}, o.placed_at, l.quantity{cast} "
    "FROM order_lines l JOIN orders o ON o.id = l.order_id "
    f"JOIN products p ON p.id = l.product_id AND {OFFERABLE}"
)
# PostgreSQL's binary COPY: a 19-byte header (signature, flags, extension length 0), then per row
# a field count and per field a length and its bytes, then a -1 field count.
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = len(_SIGNATURE) + 8
_TRAILER = b"\xff\xff"
_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("member_length", ">i4"),
        ("member_id", ">i8"),
        ("product_length", ">i4"),
        ("product_id", ">i8"),
        ("placed_length", ">i4"),
        ("placed_at", ">i8"),  # timestamptz: microseconds since 2000-01-01 UTC
        ("quantity_length", ">i4"),
        ("quantity", ">i8"),
    ]
)
_PG_EPOCH = np.datetime64("2000-01-01T00:00:00", "us")
Ints = npt.NDArray[np.int64]


class _Columns:
    """Chunks of the four columns, joined once at the end."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in COLUMNS}

    def add(self, member: Ints, product: Ints, stamps: np.ndarray, quantity: Ints) -> None:
        for name, values in zip(COLUMNS, (member, product, stamps, quantity), strict=True):
            self.parts[name].append(values)

    def frame(self) -> pd.DataFrame:
        """``member_id, product_id, timestamp`` (naive UTC, ns), ``quantity``."""
        empty = {
            "member_id": np.empty(0, np.int64),
            "product_id": np.empty(0, np.int64),
            "timestamp": np.empty(0, "datetime64[ns]"),
            "quantity": np.empty(0, np.int64),
        }
        columns = {}
        for name in COLUMNS:
            parts = self.parts[name]
            columns[name] = np.concatenate(parts) if parts else empty[name]
            parts.clear()  # let each chunk go as soon as its column is joined
        columns["timestamp"] = columns["timestamp"].astype("datetime64[ns]")
        return pd.DataFrame(columns, columns=list(COLUMNS))


class _BinaryCopy:
    """Receives the bytes of a binary COPY in whatever pieces they arrive; cuts whole rows.

    A malformed stream is noted and the rest of it skipped, and ``finish`` raises: raising
    inside the COPY would leave the connection in the middle of it.
    """

    def __init__(self, into: _Columns) -> None:
        self.into = into
        self.pending = bytearray()
        self.header_seen = False
        self.block = CHUNK_LINES * _ROW.itemsize
        self.problem: str | None = None

    async def __call__(self, data: bytes) -> None:
        if self.problem is not None:
            return
        self.pending += data
        if not self.header_seen and len(self.pending) >= _HEADER:
            if bytes(self.pending[: len(_SIGNATURE)]) != _SIGNATURE:
                self.problem = "not a PostgreSQL binary COPY stream"
                return
            extension = int.from_bytes(self.pending[_HEADER - 4 : _HEADER], "big")
            del self.pending[: _HEADER + extension]
            self.header_seen = True
        if self.header_seen and len(self.pending) >= self.block:
            self._cut()

    def _cut(self) -> None:
        rows = len(self.pending) // _ROW.itemsize
        if rows == 0:
            return
        size = rows * _ROW.itemsize
        table = np.frombuffer(bytes(self.pending[:size]), dtype=_ROW)
        del self.pending[:size]
        lengths = ("member_length", "product_length", "placed_length", "quantity_length")
        if (table["fields"] != 4).any() or any((table[name] != 8).any() for name in lengths):
            self.problem = "unexpected row in the order lines' COPY stream (a null?)"
            return
        stamps = _PG_EPOCH + table["placed_at"].astype(np.int64).astype("timedelta64[us]")
        self.into.add(
            table["member_id"].astype(np.int64),
            table["product_id"].astype(np.int64),
            stamps,
            table["quantity"].astype(np.int64),
        )

    def finish(self) -> None:
        """Cut the last rows; what remains must be the end marker."""
        if self.problem is None:
            self._cut()
        if self.problem is not None:
            raise ValueError(self.problem)
        if not self.header_seen or bytes(self.pending) != _TRAILER:
            raise ValueError("the order lines' COPY stream ended early")


async def _postgres(conn: BaseDBAsyncClient, into: _Columns) -> None:
    reader = _BinaryCopy(into)
    async with conn.acquire_connection() as raw:
        await raw.copy_from_query(_SELECT.format(cast="::int8"), output=reader, format="binary")
    reader.finish()


async def _sqlite(conn: BaseDBAsyncClient, into: _Columns) -> None:
    async with conn.acquire_connection() as raw:
        cursor = await raw.execute(_SELECT.format(cast=""))
        try:
            while rows := await cursor.fetchmany(CHUNK_LINES):
                member, product, placed, quantity = zip(*rows, strict=True)
                del rows
                stamps = pd.to_datetime(pd.Series(placed), utc=True, format="ISO8601")
                into.add(
                    np.fromiter(member, np.int64, len(member)),
                    np.fromiter(product, np.int64, len(product)),
                    stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]"),
                    np.fromiter(quantity, np.int64, len(quantity)),
                )
        finally:
            await cursor.close()


async def load_interactions() -> pd.DataFrame:
    """Every order line of an offerable product as ``member_id, product_id, timestamp,
    quantity`` (refunds not subtracted; timestamps naive UTC), in no particular order. Erased
    members' lines are left out (the person asked to be forgotten, training included)."""
    conn = db.connection()
    into = _Columns()
    if db.dialect(conn) == "sqlite":
        await _sqlite(conn, into)
    else:
        await _postgres(conn, into)
    frame = into.frame()
    erased = await Member.filter(erased_at__isnull=False).values_list("id", flat=True)
    if erased:
        frame = frame[~frame["member_id"].isin(erased)].reset_index(drop=True)
    return frame
