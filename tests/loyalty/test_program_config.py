"""The programme configuration each process keeps: used while current, never after a change."""

from __future__ import annotations

from decimal import Decimal

from loyalty import db
from loyalty.programme import admin
from loyalty.programme.config import program_config
from models import EarningRule
from tests.support import enroll, order


async def test_a_saved_rule_applies_to_the_next_order(database):
    await enroll()
    first = await order(database, "o-1", amount="10.00")
    await admin.save_earning_rule(name="SKU-1 x2", sku="SKU-1", multiplier=Decimal(2))
    second = await order(database, "o-2", amount="10.00")

    assert (first.points_awarded, second.points_awarded) == (10, 20)


async def test_another_process_change_is_seen_through_the_version_token(database):
    """Another process saves the rule: this process learns of it from the token, not a signal."""
    await enroll()
    rule = await admin.save_earning_rule(name="SKU-1 x2", sku="SKU-1", multiplier=Decimal(2))
    await order(database, "o-1", amount="10.00")  # the copy is made here

    # What another process's save_earning_rule does: the row, then a new token. This process's
    # copy is not cleared, as it would not be in another process.
    await EarningRule.filter(id=rule.id).update(multiplier=Decimal(3))
    await db.execute(db.connection(), "UPDATE program_versions SET token = token + 1")
    changed = await order(database, "o-2", amount="10.00")

    assert changed.points_awarded == 30


async def test_the_copy_is_reused_while_the_token_is_unchanged(database):
    await enroll()
    rule = await admin.save_earning_rule(name="SKU-1 x2", sku="SKU-1", multiplier=Decimal(2))
    loaded = await program_config()
    await EarningRule.filter(id=rule.id).update(multiplier=Decimal(3))  # no new token

    assert await program_config() is loaded
    assert loaded.rules[0].multiplier == 2
