"""The jobs runner: expiry of lots, partly spent lots, idempotent re-runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.ledger import adjust, check
from loyalty.ops import jobs
from models import LedgerEntry, Member
from tests.support import enroll, order

pytestmark = pytest.mark.usefixtures("database")
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


async def test_expired_lots_are_expired_once(database):
    member = await enroll()
    await order(database, "old", amount="100.00", placed_at=NOW - timedelta(days=400))
    await order(database, "new", amount="30.00", placed_at=NOW - timedelta(days=10))
    await adjust.adjust_points(member.id, -40, "till")  # consumes the old lot first (FIFO)

    first = await jobs.run(NOW, database)
    second = await jobs.run(NOW, database)

    assert (first.expired_lots, first.expired_points) == (1, 60)
    assert (second.expired_lots, second.expired_points) == (0, 0)
    assert (await Member.get(id=member.id)).balance == 30
    assert await LedgerEntry.filter(kind="expire").count() == 1
    assert await check.violations() == []


async def test_nothing_expires_before_its_day(database):
    await enroll()
    await order(database, "o-1", amount="10.00", placed_at=NOW - timedelta(days=364))

    report = await jobs.run(NOW, database)

    assert report.expired_lots == 0
    assert (await Member.get(external_id="cust-1")).balance == 10


async def test_inactivity_policy_expires_idle_balances_once(database):
    from dataclasses import replace

    settings = replace(database, inactivity_days=90)
    idle = await enroll("idle")
    await enroll("busy")
    await order(database, "old", "idle", amount="40.00", placed_at=NOW - timedelta(days=100))
    await order(database, "recent", "busy", amount="25.00", placed_at=NOW - timedelta(days=10))

    first = await jobs.run(NOW, settings)
    second = await jobs.run(NOW, settings)
    without_policy = await jobs.run(NOW, database)

    assert (first.expired_lots, first.expired_points) == (1, 40)
    assert second.expired_lots == 0 and without_policy.expired_lots == 0
    assert (await Member.get(id=idle.id)).balance == 0
    assert (await Member.get(external_id="busy")).balance == 25
    assert await check.violations() == []


def test_the_jobs_refuse_to_run_without_the_callers_settings():
    with pytest.raises(TypeError):
        jobs.run(NOW)  # type: ignore[call-arg]
