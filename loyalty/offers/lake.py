"""Order lines out of the database as Parquet, streamed in chunks.

The Spark engine's input (``loyalty retrain --engine spark``) and the hand-off to a data lake
(``loyalty export order-lines --to DIR``). One row per order line: the member, the product,
when the order was placed (UTC), quantity, line amount in cents, and the product's category and
department. Nothing is held per line in Python: PostgreSQL streams ``COPY ... TO STDOUT`` as
CSV to a scratch file that Arrow reads in blocks; SQLite is read by a cursor in chunks that
become Arrow arrays. Memory stays bounded by the chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from loyalty import db
from models import Order, OrderLine, Product

SCHEMA = pa.schema(
    [
        ("member_id", pa.int64()),
        ("product_id", pa.int64()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("quantity", pa.int32()),
        ("amount_cents", pa.int64()),
        ("category", pa.string()),
        ("department", pa.string()),
    ]
)
PART_FILE = "part-00000.parquet"
CHUNK_ROWS = 100_000
_SCRATCH = ".order_lines.csv"


class ExportError(Exception):
    """The export cannot start (the target is not an empty directory)."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    lines: int


def _query(micros: str) -> str:
    """The lines with their order and product, the columns named from the models."""
    line, order, product = OrderLine._meta, Order._meta, Product._meta
    lf, of, pf = line.fields_db_projection, order.fields_db_projection, product.fields_db_projection
    return (
        f'SELECT o."{of["member_id"]}", l."{lf["product_id"]}", {micros}, '
        f'l."{lf["quantity"]}", l."{lf["line_total_cents"]}", '
        f'p."{pf["category"]}", p."{pf["department"]}" '
        f'FROM "{line.db_table}" l '
        f'JOIN "{order.db_table}" o ON o."{of["id"]}" = l."{lf["order_id"]}" '
        f'JOIN "{product.db_table}" p ON p."{pf["id"]}" = l."{lf["product_id"]}"'
    )


def prepare_target(directory: str | Path) -> Path:
    """The target directory, created; ``ExportError`` if it exists and is not empty."""
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ExportError(f"{target} exists and is not an empty directory")
    target.mkdir(parents=True, exist_ok=True)
    return target


async def export_order_lines(directory: str | Path, chunk_rows: int = CHUNK_ROWS) -> ExportResult:
    """Write every order line to ``directory/part-00000.parquet`` (row groups of a chunk)."""
    target = prepare_target(directory)
    conn = db.connection()
    with pq.ParquetWriter(target / PART_FILE, SCHEMA) as writer:
        if db.dialect(conn) == "sqlite":
            lines = await _from_sqlite(conn, writer, chunk_rows)
        else:
            lines = await _from_postgres(conn, writer, target / _SCRATCH, chunk_rows)
    return ExportResult(target, lines)


async def _from_sqlite(conn: db.BaseDBAsyncClient, writer: pq.ParquetWriter, chunk: int) -> int:
    placed = Order._meta.fields_db_projection["placed_at"]
    total = 0
    async with conn.acquire_connection() as raw:
        cursor = await raw.execute(_query(f'o."{placed}"'))
        try:
            while rows := await cursor.fetchmany(chunk):
                columns = list(zip(*rows, strict=True))
                stamps = pd.to_datetime(pd.Series(columns[2]), utc=True, format="ISO8601")
                writer.write_table(_table(columns, pa.array(stamps, pa.timestamp("us", "UTC"))))
                total += len(rows)
        finally:
            await cursor.close()
    return total


def _table(columns: list[tuple[object, ...]], stamps: pa.Array) -> pa.Table:
    arrays = [
        stamps if i == 2 else pa.array(column, type=field.type)
        for i, (column, field) in enumerate(zip(columns, SCHEMA, strict=True))
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


async def _from_postgres(
    conn: db.BaseDBAsyncClient, writer: pq.ParquetWriter, scratch: Path, chunk: int
) -> int:
    placed = Order._meta.fields_db_projection["placed_at"]
    micros = f'(EXTRACT(EPOCH FROM o."{placed}") * 1000000)::bigint'
    try:
        async with conn.acquire_connection() as raw:
            await raw.copy_from_query(_query(micros), output=str(scratch), format="csv")
        names = [field.name for field in SCHEMA]
        types = {field.name: field.type for field in SCHEMA}
        types["timestamp"] = pa.int64()
        reader = pacsv.open_csv(
            scratch,
            read_options=pacsv.ReadOptions(column_names=names, block_size=chunk * 64),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False
            ),
        )
        total = 0
        for batch in reader:
            table = pa.Table.from_batches([batch])
            stamps = table.column("timestamp").cast(pa.timestamp("us", "UTC"))
            table = table.set_column(2, SCHEMA.field("timestamp"), stamps)
            writer.write_table(table.cast(SCHEMA))
            total += table.num_rows
        return total
    finally:
        scratch.unlink(missing_ok=True)  # noqa: ASYNC240 - one small filesystem call
