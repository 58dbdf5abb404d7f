"""Pending points: held for the return window, released by the jobs runner, cut by refunds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from loyalty import orders
from loyalty.ledger import check
from loyalty.ops import jobs
from models import LedgerEntry, Member
from tests.support import enroll, order

pytestmark = pytest.mark.usefixtures("database")
T0 = datetime(2026, 5, 1, tzinfo=UTC)


async def test_points_wait_for_the_window_then_release_once(database):
    settings = replace(database, pending_days=14)
    member = await enroll()

    await order(settings, "o-1", amount="100.00", placed_at=T0)
    held = await Member.get(id=member.id)
    early = await jobs.run(T0 + timedelta(days=13), settings)
    released = await jobs.run(T0 + timedelta(days=14), settings)
    again = await jobs.run(T0 + timedelta(days=15), settings)

    assert (held.balance, held.pending) == (0, 100)
    assert early.released_points == 0 and again.released_points == 0
    assert released.released_points == 100
    after = await Member.get(id=member.id)
    assert (after.balance, after.pending, after.lifetime_points) == (100, 0, 100)
    assert await LedgerEntry.filter(idempotency_key="order:o-1").count() == 1
    assert await check.violations() == []


async def test_refund_inside_the_window_cancels_pending_points(database):
    settings = replace(database, pending_days=14)
    member = await enroll()
    await order(settings, "o-1", amount="100.00", placed_at=T0)

    await orders.refund_order(settings, orders.RefundInput("o-1", "r-1", amount="30.00"))
    report = await jobs.run(T0 + timedelta(days=20), settings)

    assert report.released_points == 70
    after = await Member.get(id=member.id)
    assert (after.balance, after.pending) == (70, 0)
    assert await LedgerEntry.filter(kind="reversal").count() == 0
    assert await check.violations() == []


async def test_refund_after_release_takes_points_from_the_balance(database):
    settings = replace(database, pending_days=14)
    member = await enroll()
    await order(settings, "o-1", amount="100.00", placed_at=T0)
    await jobs.run(T0 + timedelta(days=15), settings)

    result = await orders.refund_order(settings, orders.RefundInput("o-1", "r-1", amount="100.00"))

    assert result.points_reversed == 100
    assert (await Member.get(id=member.id)).balance == 0
    assert await check.violations() == []
