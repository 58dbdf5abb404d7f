"""The shared database helpers: idempotent transactions, bulk inserts, reserved ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tortoise.exceptions import IntegrityError

from loyalty import db
from models import Member, Product
from tests.support import enroll

pytestmark = pytest.mark.usefixtures("database")
T0 = datetime(2026, 3, 1, tzinfo=UTC)


async def insert_member(conn, external_id: str) -> Member:
    return await Member.create(
        external_id=external_id,
        email=f"{external_id}@example.com",
        email_normalized=f"{external_id}@example.com",
        referral_code=f"R{external_id}",
        using_db=conn,
    )


async def test_atomic_idempotent_answers_a_unique_conflict_with_the_first_writers_result():
    first = await enroll("cust-1")

    async def replay() -> Member | None:
        return await Member.get_or_none(external_id="cust-1")

    found = await db.atomic_idempotent(lambda conn: insert_member(conn, "cust-1"), replay)

    assert found.id == first.id
    assert await Member.all().count() == 1


async def test_atomic_idempotent_raises_a_conflict_that_replay_does_not_explain():
    await enroll("cust-1")

    async def replay() -> Member | None:
        return await Member.get_or_none(external_id="nobody")

    with pytest.raises(IntegrityError):
        await db.atomic_idempotent(lambda conn: insert_member(conn, "cust-1"), replay)

    assert await Member.all().count() == 1


async def test_atomic_idempotent_replays_nothing_when_the_work_succeeds():
    async def replay() -> Member | None:
        raise AssertionError("no conflict, no replay")

    created = await db.atomic_idempotent(lambda conn: insert_member(conn, "cust-2"), replay)

    assert (await Member.get(external_id="cust-2")).id == created.id


def product(sku: str) -> dict[str, object]:
    return {"sku": sku, "name": f"Product {sku}", "active": True, "created_at": T0}


async def test_bulk_insert_writes_rows_named_by_the_models_fields():
    await db.atomic(lambda conn: db.bulk_insert(conn, Product, [product("a"), product("b")]))

    assert sorted(await Product.all().values_list("sku", "name")) == [
        ("a", "Product a"),
        ("b", "Product b"),
    ]


async def test_bulk_insert_raises_integrity_error_on_a_unique_conflict_and_writes_nothing():
    await db.atomic(lambda conn: db.bulk_insert(conn, Product, [product("a")]))

    with pytest.raises(IntegrityError):
        await db.atomic(lambda conn: db.bulk_insert(conn, Product, [product("b"), product("a")]))

    assert await Product.all().values_list("sku", flat=True) == ["a"]


async def test_reserved_ids_are_new_and_ascending():
    await db.atomic(lambda conn: db.bulk_insert(conn, Product, [product("a")]))
    [taken] = await Product.all().values_list("id", flat=True)

    ids = await db.atomic(lambda conn: db.reserve_ids(conn, Product, 3))

    assert ids == sorted(ids) and len(set(ids)) == 3 and min(ids) > taken


@pytest.mark.parametrize("begun", [False, True], ids=["before-BEGIN", "after-BEGIN"])
async def test_a_transaction_cancelled_while_it_opens_gives_back_its_connection(
    begun, database, monkeypatch
):
    """GraphQL cancels the sibling fields of a field that failed; one cancelled while its
    transaction opens must give back SQLite's lock or its pooled connection, or every later
    query waits forever."""
    import asyncio

    from tortoise.transactions import in_transaction

    await enroll("cust-1")
    opening = in_transaction()
    wrapper = type(getattr(opening, "connection", None) or opening.client)
    original = wrapper.begin
    stalled = asyncio.Event()

    async def stalling_begin(self) -> None:
        if begun:
            await original(self)
        stalled.set()
        await asyncio.sleep(3600)

    async def opened() -> None:
        async with db.transaction() as conn:
            await Member.filter(external_id="cust-1").using_db(conn).update(name="never")

    monkeypatch.setattr(wrapper, "begin", stalling_begin)
    victims = [asyncio.create_task(opened()) for _ in range(database.db_pool_max + 1)]
    await asyncio.wait_for(stalled.wait(), 60)
    for victim in victims:
        victim.cancel()
    await asyncio.gather(*victims, return_exceptions=True)
    monkeypatch.setattr(wrapper, "begin", original)

    async def later(n: int) -> None:
        async with db.transaction() as conn:
            await Member.filter(external_id="cust-1").using_db(conn).update(name=f"later-{n}")

    # A kept lock or pooled connection shows as a wait that never ends.
    await asyncio.wait_for(asyncio.gather(*(later(n) for n in range(database.db_pool_max + 2))), 60)
    member = await asyncio.wait_for(Member.get(external_id="cust-1"), 60)
    assert member.name.startswith("later-")
