"""The shared database helpers: idempotent transactions."""

from __future__ import annotations

import pytest
from tortoise.exceptions import IntegrityError

from loyalty import db
from models import Member
from tests.support import enroll

pytestmark = pytest.mark.usefixtures("database")


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
