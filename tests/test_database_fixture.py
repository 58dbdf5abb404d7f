"""The database fixture: every test starts from empty tables, whatever tables the models have."""

from __future__ import annotations

import pytest

from loyalty import db, rewards
from models import RewardKind
from tests.support import empty_tables, enroll, model_tables, order


async def row_counts() -> dict[str, int]:
    conn = db.connection()
    return {
        table: int((await db.fetch(conn, f'SELECT COUNT(*) AS n FROM "{table}"'))[0]["n"])
        for table in model_tables()
    }


async def test_emptying_postgres_leaves_no_row_in_any_model_table(database):
    if database.is_sqlite:
        pytest.skip("a SQLite test starts from a copy of an empty, migrated file")
    member = await enroll()
    await order(database, "o-1")
    reward = await rewards.create_reward(
        rewards.RewardInput(name="Free shipping", kind=RewardKind.FREE_SHIPPING, points_cost=20)
    )
    await rewards.redeem(member.id, reward.id)  # a coupon, a debit and its lot use
    assert (await row_counts())["lot_uses"] == 1

    await empty_tables()

    assert {table: n for table, n in (await row_counts()).items() if n} == {}
    assert (await enroll()).id == 1  # ids restart too
