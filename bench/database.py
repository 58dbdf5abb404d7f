"""A database of its own for each run: a SQLite file in a temp dir, or a new PostgreSQL database."""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from loyalty import db
from loyalty.settings import Secret, Settings

POSTGRES_URL = os.environ.get("LOYALTY_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


def bench_settings(url: str) -> Settings:
    """Settings with fresh keys; member tokens outlive the longest run."""
    return Settings(
        database_url=url,
        admin_key=Secret(secrets.token_urlsafe(24)),
        storefront_key=Secret(secrets.token_urlsafe(24)),
        secret=Secret(secrets.token_urlsafe(32)),
        webhook_secret=Secret(secrets.token_urlsafe(24)),
        events_secret=Secret(secrets.token_urlsafe(24)),
        token_ttl_seconds=6 * 3600,
    )


def server_env(settings: Settings) -> dict[str, str]:
    """The environment a server process needs to serve this database."""
    return {
        "LOYALTY_DATABASE_URL": settings.database_url,
        "LOYALTY_ADMIN_KEY": settings.admin_key.value,
        "LOYALTY_STOREFRONT_KEY": settings.storefront_key.value,
        "LOYALTY_SECRET": settings.secret.value,
        "LOYALTY_WEBHOOK_SECRET": settings.webhook_secret.value,
        "LOYALTY_EVENTS_SECRET": settings.events_secret.value,
        "LOYALTY_DB_POOL_MAX": str(settings.db_pool_max),
        # The load generator is one address sending the keyless baseline query by the thousand.
        "LOYALTY_PUBLIC_RATE_LIMIT": "0",
    }


async def _postgres_admin(sql: str) -> None:
    import asyncpg

    url = POSTGRES_URL.replace("postgres://", "postgresql://", 1).rstrip("/") + "/postgres"
    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def postgres_reachable() -> str | None:
    """None when PostgreSQL answers; the reason otherwise."""
    try:
        await _postgres_admin("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@asynccontextmanager
async def scratch_database(backend: str) -> AsyncIterator[Settings]:
    """A new, migrated, empty database of this backend; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="loyalty-bench-") as tmp:
            settings = bench_settings(f"sqlite://{tmp}/bench.sqlite3")
            await db.migrate(settings)
            yield settings
        return
    name = f"loyalty_bench_{uuid.uuid4().hex[:10]}"
    await _postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        settings = bench_settings(f"{POSTGRES_URL.rstrip('/')}/{name}")
        await db.migrate(settings)
        yield settings
    finally:
        await _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def postgres_version() -> str:
    """The server's version string."""
    import asyncpg

    url = POSTGRES_URL.replace("postgres://", "postgresql://", 1).rstrip("/") + "/postgres"
    connection = await asyncpg.connect(url, timeout=5)
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()
