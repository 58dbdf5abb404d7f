"""The ledger invariants, on both backends, also under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from loyalty import db, ledger
from loyalty.errors import InsufficientPoints
from loyalty.ledger import check
from models import EntryKind, LedgerEntry, Lot, Member
from tests.support import enroll

pytestmark = pytest.mark.usefixtures("database")


async def credit(member_id: int, points: int, key: str, expires_in_days: int | None = None):
    expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None

    async def work(conn):
        return await ledger.credit(
            conn, member_id, points, kind=EntryKind.BONUS, key=key, expires_at=expires
        )

    return await db.atomic(work)


async def debit(member_id: int, points: int, key: str, **kwargs):
    async def work(conn):
        return await ledger.debit(conn, member_id, points, kind=EntryKind.REDEEM, key=key, **kwargs)

    return await db.atomic(work)


async def assert_invariants() -> None:
    assert [str(v) for v in await check.violations()] == []


async def test_credit_and_debit_keep_balance_equal_to_entries_and_lots():
    member = await enroll()
    await credit(member.id, 100, "c1", expires_in_days=30)
    await credit(member.id, 50, "c2", expires_in_days=10)
    posted = await debit(member.id, 70, "d1")

    await member.refresh_from_db()
    assert member.balance == 80
    assert posted.entry.points == -70 and posted.entry.balance_after == 80
    await assert_invariants()


async def test_debit_consumes_lots_oldest_expiry_first():
    member = await enroll()
    late = await credit(member.id, 100, "late", expires_in_days=300)
    early = await credit(member.id, 50, "early", expires_in_days=10)
    never = await credit(member.id, 20, "never")

    await debit(member.id, 60, "spend")

    remaining = {lot.entry_id: lot.remaining for lot in await Lot.filter(member_id=member.id)}
    assert remaining == {early.entry.id: 0, late.entry.id: 90, never.entry.id: 20}
    await assert_invariants()


async def test_debit_beyond_balance_is_refused_and_changes_nothing():
    member = await enroll()
    await credit(member.id, 10, "c1")

    with pytest.raises(InsufficientPoints):
        await debit(member.id, 11, "d1")

    await member.refresh_from_db()
    assert member.balance == 10
    assert await LedgerEntry.filter(member_id=member.id).count() == 1
    await assert_invariants()


async def test_partial_debit_records_the_shortfall():
    member = await enroll()
    await credit(member.id, 30, "c1")

    posted = await debit(member.id, 50, "d1", partial=True)

    assert posted.entry.points == -30 and posted.entry.shortfall == 20
    await member.refresh_from_db()
    assert member.balance == 0
    await assert_invariants()


async def test_same_key_twice_posts_once():
    member = await enroll()
    first = await credit(member.id, 10, "same")
    again = await credit(member.id, 10, "same")

    assert first.created and not again.created
    assert again.entry.id == first.entry.id
    await member.refresh_from_db()
    assert member.balance == 10


async def test_expire_lot_removes_only_what_is_left():
    member = await enroll()
    posted = await credit(member.id, 100, "c1", expires_in_days=1)
    await debit(member.id, 40, "d1")
    lot = await Lot.get(entry_id=posted.entry.id)

    expired = await db.atomic(lambda conn: ledger.expire_lot(conn, lot.id))
    again = await db.atomic(lambda conn: ledger.expire_lot(conn, lot.id))

    assert expired is not None and expired.entry.points == -60
    assert again is not None and not again.created
    await member.refresh_from_db()
    assert member.balance == 0
    await assert_invariants()


async def test_lock_members_gives_id_and_balance_of_those_that_exist():
    ann, bob = await enroll("ann"), await enroll("bob")
    await credit(ann.id, 30, "bonus")

    locked = await db.atomic(lambda conn: ledger.lock_members(conn, ["bob", "ann", "nobody"]))

    assert locked == {"ann": (ann.id, 30), "bob": (bob.id, 0)}


async def test_concurrent_spends_never_overdraw():
    member = await enroll()
    await credit(member.id, 100, "c1", expires_in_days=30)
    await credit(member.id, 55, "c2", expires_in_days=60)

    results = await asyncio.gather(
        *(debit(member.id, 10, f"spend-{i}") for i in range(40)), return_exceptions=True
    )

    succeeded = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(succeeded) == 15 and len(refused) == 25
    await member.refresh_from_db()
    assert member.balance == 5
    await assert_invariants()


async def test_concurrent_same_key_credits_once():
    member = await enroll()

    results = await asyncio.gather(
        *(credit(member.id, 25, "one-key") for _ in range(30)), return_exceptions=True
    )

    created = [r for r in results if isinstance(r, ledger.Posted) and r.created]
    assert len(created) <= 1
    assert await LedgerEntry.filter(idempotency_key="one-key").count() == 1
    await member.refresh_from_db()
    assert member.balance == 25
    await assert_invariants()


async def test_check_reports_a_tampered_balance():
    member = await enroll()
    await credit(member.id, 10, "c1")
    await Member.filter(id=member.id).update(balance=15)

    found = await check.violations()

    assert {v.invariant for v in found} == {
        "1 balance == sum of entries",
        "3 balance == sum of lot remainders",
    }
    assert all(v.member_id == member.id for v in found)


async def test_check_reports_an_edited_entry():
    member = await enroll()
    await credit(member.id, 10, "c1")
    await credit(member.id, 5, "c2")
    await LedgerEntry.filter(idempotency_key="c1").update(points=12)

    found = await check.violations()

    assert "5 entries never changed" in {v.invariant for v in found}
