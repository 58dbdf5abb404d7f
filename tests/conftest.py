"""Fixtures: every database-touching test runs on SQLite and on PostgreSQL.

PostgreSQL comes from LOYALTY_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
each run creates its own database there and drops it at the end. Where PostgreSQL is missing
the PostgreSQL cases are skipped locally; with CI=true they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from loyalty import db
from loyalty.settings import Settings
from tests.support import empty_tables, make_settings

ADMIN_URL = os.environ.get("LOYALTY_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=["all", "sqlite", "postgres"],
        default="all",
        help="run database tests on one backend only",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--backend")
        backends = ["sqlite", "postgres"] if chosen == "all" else [chosen]
        metafunc.parametrize("backend", backends)


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_URL.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this run."""
    name = f"loyalty_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, Exception) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {exc}")
    base = ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    asyncio.run(db.migrate(make_settings(url)))
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(db.migrate(make_settings(f"sqlite://{path}")))
    return path


@pytest.fixture
def settings(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Settings:
    """Settings for a database of the given backend, empty and migrated."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "loyalty.sqlite3"
        shutil.copy(template, target)
        return make_settings(f"sqlite://{target}")
    return make_settings(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Settings]:
    """An open, empty database; yields its settings."""
    await db.init(settings, apply_migrations=False)
    if not settings.is_sqlite:
        await empty_tables()
    try:
        yield settings
    finally:
        await db.close()


@pytest.fixture(scope="session")
def spark():
    """One local Spark (two cores) for every Spark test; skipped where pyspark is missing."""
    pytest.importorskip("pyspark")
    from recommend.spark import session

    started = session.start("local[2]", app_name="loyalty-tests", shuffle_partitions=2)
    yield started
    started.stop()
