"""Indexed paths only: the hot paths do not slow down as members and history grow.

Every statement the account page (``me``), ``previewPoints``, ``validateCoupon`` and
``recordOrder`` run is captured as it runs and planned again by PostgreSQL with ``EXPLAIN``:
no plan may scan a table that grows with members, orders or history sequentially. Sequential
scans are priced out for the check (``enable_seqscan = off``), so a plan shows one only where
no index can serve the statement, however the statistics of a small test database look. The
configuration tables (tiers, rules, campaigns, the rewards catalogue, model versions) stay
small and may be read whole.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from api.context import Role
from loyalty import db, rewards
from loyalty.ledger import adjust
from loyalty.programme import admin
from loyalty.settings import Settings
from models import MemberOffer, ModelVersion, Product, TierBasis, TierWindow
from tests.api.test_query_count import ACCOUNT_PAGE
from tests.support import empty_tables, enroll, gql, make_settings, order

# Read whole by design: a programme has a handful of each.
CONFIGURATION = frozenset(
    {
        "tiers",
        "earning_rules",
        "campaigns",
        "earning_caps",
        "action_rules",
        "plans",
        "rewards",
        "model_versions",
        "program_versions",
    }
)
PREVIEW = """query($input: PreviewPointsInput!) {
  previewPoints(input: $input) { points eligibleAmount lines { sku points } } }"""
RECORD = """mutation($input: RecordOrderInput!) {
  recordOrder(input: $input) { pointsAwarded replayed userErrors { code } } }"""
VALIDATE = """query($code: String!, $cart: [CartLineInput!]) {
  validateCoupon(code: $code, cart: $cart) { valid discount reason errorCode } }"""
REDEEM = """mutation($input: RedeemRewardInput!) {
  redeemReward(input: $input) { coupon { code } userErrors { code } } }"""
MEMBERS = 6  # sequential scans are priced out: the plans do not depend on the size
LINES = [{"sku": f"SKU-{i}", "quantity": 1, "unitPrice": "4.00"} for i in range(3)]


class Statements(logging.Handler):
    """Keeps (text, values) of each statement tortoise logs before running it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[str, list[Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.msg == "%s: %s" and len(args) == 2:
            self.seen.append((str(args[0]), list(args[1] or [])))


@contextmanager
def statements() -> Iterator[list[tuple[str, list[Any]]]]:
    logger = logging.getLogger("tortoise.db_client")
    handler = Statements()
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield handler.seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def growing_tables() -> set[str]:
    return {m._meta.db_table for m in Tortoise.apps["models"].values()} - CONFIGURATION


async def sequential_scans(seen: list[tuple[str, list[Any]]]) -> dict[str, set[str]]:
    """Per planned statement, the growing tables its plan scans sequentially."""
    growing = growing_tables()
    found: dict[str, set[str]] = {}
    async with in_transaction() as conn:
        await conn.execute_script("SET LOCAL enable_seqscan = off")
        for text, values in seen:
            verb = text.split(None, 1)[0].upper()
            if verb not in ("SELECT", "UPDATE", "DELETE", "WITH"):
                continue
            rows = await conn.execute_query_dict(f"EXPLAIN (FORMAT JSON) {text}", values)
            plan = json.loads(rows[0]["QUERY PLAN"])[0]["Plan"]
            scanned = set(_seq_scans(plan)) & growing
            found[text] = scanned
    return found


def _seq_scans(plan: dict[str, Any]) -> Iterator[str]:
    if plan.get("Node Type") == "Seq Scan":
        yield plan["Relation Name"]
    for child in plan.get("Plans", ()):
        yield from _seq_scans(child)


@pytest.fixture
async def postgres(postgres_url: str) -> Any:
    settings = make_settings(postgres_url)
    await db.init(settings, apply_migrations=False)
    await empty_tables()
    try:
        yield settings
    finally:
        await db.close()


async def seed(settings: Settings) -> None:
    """A programme with tiers, tier-only and category rewards, trained offers and history."""
    await admin.save_tier(
        name="Silver", threshold=0, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
    )
    for name, extra in (("Perk", {"min_tier": "Silver"}), ("Basket", {"category": "general"})):
        await rewards.create_reward(
            rewards.RewardInput(name=name, kind="free_shipping", points_cost=10, **extra)
        )
    await rewards.create_reward(
        rewards.RewardInput(name="Ten off", kind="percent_discount", percent=10, points_cost=5)
    )
    products = [
        await Product.create(sku=f"P-{i}", name=f"Product {i}", category="general")
        for i in range(12)
    ]
    for m in range(MEMBERS):
        member = await enroll(f"m-{m}")
        for i in range(3):
            await order(settings, f"m-{m}-{i}", member_external_id=f"m-{m}", amount="30.00")
        await adjust.adjust_points(member.id, 100, "seed")
    version = await ModelVersion.create(version="v1", path="-", active=True)
    await MemberOffer.bulk_create(
        [
            MemberOffer(
                version_id=version.id,
                member_id=member_id,
                rank=rank,
                product_id=p.id,
                score=1.0 / (rank + 1),
                reason="BOUGHT_OFTEN",
            )
            for member_id in (None, *range(1, MEMBERS + 1))
            for rank, p in enumerate(products)
        ]
    )
    await db.execute(db.connection(), "ANALYZE")


async def test_hot_paths_scan_no_growing_table_sequentially(postgres):
    """Given a programme with history, when each hot path runs, then every statement it ran is
    planned with index reads of the growing tables only."""
    await seed(postgres)
    member = await enroll("shopper")
    await order(postgres, "shopper-0", member_external_id="shopper", amount="80.00")
    reward = next(r for r in await rewards.catalogue() if r.name == "Ten off")
    redeemed = await gql(
        postgres,
        REDEEM,
        {"input": {"rewardId": _reward_id(reward.id)}},
        role=Role.MEMBER,
        member_id=member.id,
    )
    code = redeemed["redeemReward"]["coupon"]["code"]

    with statements() as seen:
        await gql(postgres, ACCOUNT_PAGE, role=Role.MEMBER, member_id=member.id)
        await gql(
            postgres,
            PREVIEW,
            {"input": {"memberExternalId": "shopper", "lines": LINES}},
            role=Role.STOREFRONT,
        )
        await gql(postgres, VALIDATE, {"code": code, "cart": LINES}, role=Role.STOREFRONT)
        recorded = await gql(
            postgres,
            RECORD,
            {"input": {"externalId": "hot-1", "memberExternalId": "shopper", "lines": LINES}},
            role=Role.STOREFRONT,
        )

    assert recorded["recordOrder"]["userErrors"] == []
    scans = await sequential_scans(seen)
    assert len(scans) >= 10, f"too few statements were planned: {list(scans)}"
    assert any("ledger_entries" in text for text in scans), list(scans)
    assert {text: tables for text, tables in scans.items() if tables} == {}


async def test_a_statement_no_index_serves_is_caught(postgres):
    """The check sees a sequential scan where one happens."""
    unindexed = "SELECT id FROM ledger_entries WHERE points = $1"

    scans = await sequential_scans([(unindexed, [5])])

    assert scans == {unindexed: {"ledger_entries"}}


def _reward_id(pk: int) -> str:
    from api.relay import encode_id

    return encode_id("Reward", pk)
