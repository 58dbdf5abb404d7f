"""Database set-up (tortoise), migrations, transactions with retry, and raw-SQL helpers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, TypeVar

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionContext
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connections
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError
from tortoise.fields import DatetimeField
from tortoise.models import Model
from tortoise.transactions import in_transaction

from loyalty.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
_active = ["sqlite"]
_generation = [0]


def connection_name(settings: Settings) -> str:
    """Named by backend: tortoise caches prepared statements per connection name."""
    return "sqlite" if settings.is_sqlite else "postgres"


def _connection_config(settings: Settings) -> dict[str, Any]:
    url = settings.database_url
    if url.startswith("postgresql://"):
        url = "postgres://" + url[len("postgresql://") :]
    config = expand_db_url(url)
    if config["engine"].endswith("sqlite"):
        # One writer at a time: WAL lets readers go on, busy_timeout makes other processes wait.
        config["credentials"].setdefault("journal_mode", "WAL")
        config["credentials"].setdefault("busy_timeout", 10000)
        config["credentials"].setdefault("synchronous", "NORMAL")
        # The one connection's page cache (64 MiB, negative means KiB): reads of a member's
        # history stay in memory instead of going back to the file for every page.
        config["credentials"].setdefault("cache_size", -65536)
        config["credentials"].setdefault("temp_store", "MEMORY")
    else:
        config["credentials"].setdefault("minsize", 1)
        config["credentials"].setdefault("maxsize", settings.db_pool_max)
    return config


def tortoise_config(settings: Settings) -> dict[str, Any]:
    """The tortoise configuration for these settings."""
    return {
        "connections": {connection_name(settings): _connection_config(settings)},
        "apps": {
            "models": {
                "models": ["models"],
                "migrations": "models.migrations",
                "default_connection": connection_name(settings),
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def migrate(settings: Settings) -> None:
    """Bring the schema up to date with the committed migrations."""
    from tortoise.context import TortoiseContext
    from tortoise.migrations.api import migrate as run_migrations

    async with TortoiseContext():
        await run_migrations(config=tortoise_config(settings))


async def init(settings: Settings, *, apply_migrations: bool = True) -> None:
    """Open the database (applying migrations first unless told not to)."""
    if apply_migrations:
        await migrate(settings)
    _active[0] = connection_name(settings)
    _generation[0] += 1
    # Global fallback: the ASGI lifespan runs in another task than the requests.
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close() -> None:
    await Tortoise.close_connections()


def connection() -> BaseDBAsyncClient:
    """The open connection (whichever backend init() opened)."""
    return connections.get(_active[0])


def generation() -> int:
    """Changes whenever init() opens a database: keys caches of what one database holds."""
    return _generation[0]


def dialect(conn: BaseDBAsyncClient) -> str:
    return str(conn.capabilities.dialect)


_PLACEHOLDER = re.compile(r"\$(\d+)")


def sql(conn: BaseDBAsyncClient, query: str) -> str:
    """Write queries with $1.. placeholders; SQLite gets its ?1.. equivalent."""
    if dialect(conn) == "sqlite":
        return _PLACEHOLDER.sub(r"?\1", query)
    return query


def timestamp(value: Any) -> datetime | None:
    """A timestamp column as read by raw SQL, as an aware datetime: PostgreSQL's as it comes,
    SQLite's text parsed (what tortoise writes: ISO 8601 with its offset) by the standard
    library's C parser, a few times faster than the model's field conversion."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


M = TypeVar("M", bound=Model)


def load(model: type[M], row: dict[str, Any]) -> M:
    """A model instance from a raw row of every column (see ``columns``), as tortoise loads
    one, with SQLite's timestamp text parsed by ``timestamp`` first: tortoise's own parser
    takes about ten times as long, which on a page of rewards or offers is most of the load."""
    for column in _timestamp_columns(model):
        value = row[column]
        if isinstance(value, str):
            row[column] = timestamp(value)
    return model._init_from_db(**row)


@functools.cache
def _timestamp_columns(model: type[Model]) -> tuple[str, ...]:
    meta = model._meta
    return tuple(
        meta.fields_db_projection[name]
        for name, field in meta.fields_map.items()
        if isinstance(field, DatetimeField) and name in meta.fields_db_projection
    )


def columns(model: type[Model], alias: str = "") -> str:
    """Every column of the model's table, for a raw SELECT whose rows load as the model
    (``Model._init_from_db(**row)``). Asked for when the query runs: foreign-key columns join
    the model's fields only when tortoise is initialised."""
    return _columns(model, alias)


@functools.cache
def _columns(model: type[Model], alias: str) -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{c}" for c in model._meta.fields_db_projection.values())


def in_list(count: int, start: int = 1) -> str:
    """``$start, ..., $(start + count - 1)``: the placeholders of an ``IN (...)`` list."""
    return ", ".join(f"${i}" for i in range(start, start + count))


async def fetch(conn: BaseDBAsyncClient, query: str, *values: Any) -> list[dict[str, Any]]:
    return await conn.execute_query_dict(sql(conn, query), list(values))


async def execute(conn: BaseDBAsyncClient, query: str, *values: Any) -> int:
    count, _ = await conn.execute_query(sql(conn, query), list(values))
    return count


_INSERTS: dict[tuple[str, type[Model], tuple[str, ...], int, str], str] = {}


def _insert_sql(
    conn: BaseDBAsyncClient, model: type[Model], columns: tuple[str, ...], rows: int, returning: str
) -> str:
    key = (dialect(conn), model, columns, rows, returning)
    text = _INSERTS.get(key)
    if text is None:
        meta = model._meta
        names = ", ".join(f'"{meta.fields_db_projection[c]}"' for c in columns)
        width = len(columns)
        values = ", ".join(
            "(" + ", ".join(f"${r * width + i + 1}" for i in range(width)) + ")"
            for r in range(rows)
        )
        text = f'INSERT INTO "{meta.db_table}" ({names}) VALUES {values}'
        if returning:
            text += f' RETURNING "{returning}"'
        text = _INSERTS[key] = sql(conn, text)
    return text


async def insert(
    conn: BaseDBAsyncClient,
    model: type[Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    returning: str = "id",
) -> list[Any]:
    """Insert rows (same fields in each, named as on the model) in one statement.

    The hot paths' lean alternative to ``Model.create``: values are converted exactly as tortoise
    converts them (each field's ``to_db_value``) and the statement text is built once per shape.
    Returns the ``returning`` column of each row (in insertion order), or [] without one.
    """
    if not rows:
        return []
    columns = tuple(rows[0])
    fields = model._meta.fields_map
    converters = [fields[c].to_db_value for c in columns]
    values = [
        convert(row[c], model)
        for row in rows
        for c, convert in zip(columns, converters, strict=True)
    ]
    text = _insert_sql(conn, model, columns, len(rows), returning)
    if not returning:
        await conn.execute_query(text, values)
        return []
    return [row[returning] for row in await conn.execute_query_dict(text, values)]


async def bulk_insert(
    conn: BaseDBAsyncClient, model: type[Model], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert many rows (same fields in each, named as on the model) in the caller's
    transaction: COPY on PostgreSQL, executemany on SQLite; the bulk import's path.

    Values go in as given, without the per-field conversion :func:`insert` does. A unique
    conflict raises tortoise's ``IntegrityError`` on both backends.
    """
    if not rows:
        return
    fields = tuple(rows[0])
    pick = itemgetter(*fields)
    records = [pick(row) for row in rows] if len(fields) > 1 else [(pick(r),) for r in rows]
    await _insert_records(conn, model, fields, records)


async def bulk_insert_columns(
    conn: BaseDBAsyncClient,
    model: type[Model],
    columns: Mapping[str, Sequence[Any]],
    *,
    batch: int = 50_000,
) -> None:
    """:func:`bulk_insert` for data held as columns (equal lengths, named as on the model):
    rows are formed ``batch`` at a time, so a million offers never exist as a million tuples."""
    fields = tuple(columns)
    total = len(columns[fields[0]]) if fields else 0
    for start in range(0, total, batch):
        part = [columns[name][start : start + batch] for name in fields]
        await _insert_records(conn, model, fields, list(zip(*part, strict=True)))


async def _insert_records(
    conn: BaseDBAsyncClient,
    model: type[Model],
    fields: tuple[str, ...],
    records: list[tuple[Any, ...]],
) -> None:
    meta = model._meta
    columns = [meta.fields_db_projection[f] for f in fields]
    if dialect(conn) == "sqlite":
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" * len(columns))
        query = f'INSERT INTO "{meta.db_table}" ({names}) VALUES ({marks})'
        await conn.execute_many(query, records)  # type: ignore[arg-type]
        return
    async with conn.acquire_connection() as raw:
        try:
            await raw.copy_records_to_table(meta.db_table, records=records, columns=columns)
        except asyncpg.exceptions.IntegrityConstraintViolationError as exc:
            raise IntegrityError(exc) from exc


async def reserve_ids(conn: BaseDBAsyncClient, model: type[Model], count: int) -> list[int]:
    """``count`` new primary keys of ``model``'s table, ascending, for this transaction to use.

    On SQLite the caller must hold the write lock (a member lock does): nobody else can take
    ids until it commits.
    """
    if count == 0:
        return []
    table, pk = model._meta.db_table, model._meta.db_pk_column
    if dialect(conn) == "sqlite":
        rows = await fetch(
            conn,
            f'SELECT MAX(COALESCE((SELECT MAX("{pk}") FROM "{table}"), 0), '
            "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = $1), 0)) AS top",
            table,
        )
        top = int(rows[0]["top"])
        return list(range(top + 1, top + 1 + count))
    rows = await fetch(
        conn,
        "SELECT nextval(pg_get_serial_sequence($1, $2)) AS id FROM generate_series(1, $3)",
        table,
        pk,
        count,
    )
    return sorted(int(row["id"]) for row in rows)


def _retryable(exc: BaseException) -> bool:
    """Serialization failures, deadlocks and a busy SQLite file are worth another try."""
    if isinstance(exc, asyncpg.exceptions.TransactionRollbackError):
        return True
    if isinstance(exc, OperationalError | TransactionManagementError):
        text = str(exc).lower()
        return any(s in text for s in ("locked", "busy", "deadlock", "serializ"))
    return False


class _NotedLock:
    """SQLite's connection lock as a transaction takes it, noting whether this one holds it."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self.lock = lock
        self.held = False

    async def acquire(self) -> bool:
        await self.lock.acquire()
        self.held = True
        return True

    def release(self) -> None:
        self.held = False
        self.lock.release()

    def locked(self) -> bool:
        return self.lock.locked()


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[BaseDBAsyncClient]:
    """``in_transaction()``, safe to cancel while it opens.

    tortoise takes SQLite's one connection lock (or a pooled PostgreSQL connection) before it
    sends BEGIN and gives it back only on exit; a task cancelled during BEGIN (GraphQL cancels
    the sibling fields of one that failed) never exits, so the lock or the connection would be
    kept for good and every later query would wait on it. Here an interrupted opening gives
    back what it took."""
    context = in_transaction()
    lock = getattr(context, "_trxlock", None)
    noted = _NotedLock(lock) if isinstance(lock, asyncio.Lock) else None
    if noted is not None:
        context._trxlock = noted  # type: ignore[attr-defined]
    client = getattr(context, "client", None)
    pooled_before = getattr(client, "_connection", None)
    try:
        conn = await context.__aenter__()
    except BaseException:
        await _give_back(context, noted, client, pooled_before)
        raise
    try:
        yield conn
    except BaseException as exc:
        await context.__aexit__(type(exc), exc, exc.__traceback__)
        raise
    await context.__aexit__(None, None, None)


async def _give_back(
    context: TransactionContext, noted: _NotedLock | None, client: Any, pooled_before: Any
) -> None:
    """Undo what an interrupted ``__aenter__`` did: the connection-var binding, a BEGIN that
    may have run, the SQLite lock, the pooled connection (released, which rolls it back)."""
    token = getattr(context, "token", None)
    try:
        if noted is not None and noted.held:
            with contextlib.suppress(Exception):
                await context.connection.rollback()  # type: ignore[attr-defined]
        pooled = getattr(client, "_connection", None)
        if client is not None and pooled is not None and pooled is not pooled_before:
            pool = getattr(client._parent, "_pool", None)
            if pool is not None:
                await pool.release(pooled)
    finally:
        if token is not None:
            get_connections().reset(token)
        if noted is not None and noted.held:
            noted.release()


async def atomic(work: Callable[[BaseDBAsyncClient], Awaitable[T]], *, attempts: int = 8) -> T:
    """Run ``work`` in one transaction, retrying transient conflicts with backoff."""
    for attempt in range(1, attempts + 1):
        try:
            async with transaction() as conn:
                return await work(conn)
        except Exception as exc:
            if attempt == attempts or not _retryable(exc):
                raise
            delay = min(0.5, 0.005 * 2**attempt) * (0.5 + random.random())
            log.info("retrying transaction after %s (attempt %d)", type(exc).__name__, attempt)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


async def atomic_idempotent(
    work: Callable[[BaseDBAsyncClient], Awaitable[T]],
    replay: Callable[[], Awaitable[T | None]],
) -> T:
    """``atomic(work)`` for work guarded by a unique key: when the key stops it (a concurrent
    writer got there first), the first writer's result as ``replay`` finds it; when ``replay``
    finds nothing, the conflict was another one and is raised."""
    try:
        return await atomic(work)
    except IntegrityError:
        found = await replay()
        if found is None:
            raise
        return found
