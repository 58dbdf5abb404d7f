"""The ledger's bulk path: backfilled orders credited in a few statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tortoise.exceptions import IntegrityError

from loyalty import db, ledger
from loyalty.ledger import bulk, check, keys
from models import EntryKind, LedgerEntry, Lot, Member, OutboxEvent
from tests.support import enroll

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def credit_orders(settings, credits: list[bulk.OrderCredit]) -> int:
    async def work(conn):
        locked = await ledger.lock_members(conn, ["ann", "bob"])
        return await bulk.credit_orders(conn, settings, credits, dict(locked.values()))

    return await db.atomic(work)


async def test_bulk_credit_posts_what_credit_would_and_moves_each_balance_once(database):
    ann, bob = await enroll("ann"), await enroll("bob")
    await db.atomic(lambda conn: ledger.credit(conn, ann.id, 30, kind=EntryKind.BONUS, key="bonus"))
    events_before = await OutboxEvent.all().count()
    credits = [
        bulk.OrderCredit(ann.id, "o-1", T0, 10, 1000),
        bulk.OrderCredit(bob.id, "o-2", T0 + timedelta(days=1), 0, 500),
        bulk.OrderCredit(ann.id, "o-3", T0 + timedelta(days=2), 25, 2500),
    ]

    points = await credit_orders(database, credits)

    assert points == 35
    ann_now, bob_now = await Member.get(id=ann.id), await Member.get(id=bob.id)
    assert (ann_now.balance, ann_now.lifetime_points, ann_now.lifetime_spend_cents) == (
        65,
        65,
        3500,
    )
    assert ann_now.last_order_at == T0 + timedelta(days=2)
    assert (bob_now.balance, bob_now.lifetime_spend_cents) == (0, 500)
    assert bob_now.last_order_at == T0 + timedelta(days=1)
    entries = await LedgerEntry.filter(kind=EntryKind.EARN_ORDER).order_by("id")
    assert [(e.idempotency_key, e.points, e.balance_after) for e in entries] == [
        (keys.order("o-1"), 10, 40),
        (keys.order("o-3"), 25, 65),
    ]
    assert [e.created_at for e in entries] == [T0, T0 + timedelta(days=2)]
    lots = await Lot.filter(entry_id__in=[e.id for e in entries]).order_by("id")
    assert [(lot.remaining, lot.expires_at) for lot in lots] == [
        (10, T0 + timedelta(days=database.lot_expiry_days)),
        (25, T0 + timedelta(days=database.lot_expiry_days + 2)),
    ]
    assert await OutboxEvent.all().count() == events_before  # history, not news
    assert await check.violations() == []


async def test_bulk_credit_of_an_order_credited_before_rolls_everything_back(database):
    ann = await enroll("ann")
    await credit_orders(database, [bulk.OrderCredit(ann.id, "o-1", T0, 10, 1000)])

    with pytest.raises(IntegrityError):
        await credit_orders(
            database,
            [
                bulk.OrderCredit(ann.id, "o-2", T0, 5, 500),
                bulk.OrderCredit(ann.id, "o-1", T0, 10, 1000),
            ],
        )

    member = await Member.get(id=ann.id)
    assert (member.balance, member.lifetime_spend_cents) == (10, 1000)
    assert await LedgerEntry.all().count() == 1
    assert await check.violations() == []
