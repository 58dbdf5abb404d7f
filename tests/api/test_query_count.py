"""N+1 guard: a member's history costs the same number of SQL queries however long it is."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from api.context import Role
from loyalty.programme import admin
from loyalty.settings import Settings
from tests.support import enroll, gql, order

ME = """{ me { pointsBalance
          transactions(first: 10) { edges { node { kind points balanceAfter createdAt } } } } }"""
SQL_VERBS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"})


class QueryLog(logging.Handler):
    """Keeps the SQL statements tortoise logs (it logs each one at DEBUG before running it)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.queries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Statements are logged as ("%s: %s", query, values) or, for scripts, as the bare text;
        # connection open/close messages are not statements.
        args = record.args if isinstance(record.args, tuple) else ()
        text = str(args[0]) if record.msg == "%s: %s" and args else str(record.msg)
        words = text.split(None, 1)
        if words and words[0].upper() in SQL_VERBS:
            self.queries.append(text)


@contextmanager
def logged_queries() -> Iterator[list[str]]:
    """The statements run inside the block; the logger is put back as it was afterwards."""
    logger = logging.getLogger("tortoise.db_client")
    handler = QueryLog()
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield handler.queries
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


async def history_queries(settings: Settings, member_id: int) -> tuple[list[str], int]:
    """The statements ``me { transactions }`` runs for this member, and the edges it returned."""
    with logged_queries() as queries:
        data = await gql(settings, ME, role=Role.MEMBER, member_id=member_id)
    return queries, len(data["me"]["transactions"]["edges"])


ACCOUNT_PAGE_STATEMENTS = 4
ACCOUNT_PAGE = """{ me { pointsBalance tier { name }
    transactions(first: 10) { edges { node { kind points balanceAfter createdAt } } }
    offers(first: 10) { kind score reason product { sku name price } reward { name } } } }"""


async def test_account_page_query_count_does_not_grow_with_history_or_offers(database):
    """The read path a storefront opens with: history, tier, products and rewards offered."""
    from loyalty import rewards
    from models import MemberOffer, ModelVersion, Product, TierBasis, TierWindow

    await admin.save_tier(
        name="Silver", threshold=0, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
    )
    short = await enroll("short")
    await order(database, "short-0", member_external_id="short")
    long = await enroll("long")
    for i in range(30):
        await order(database, f"long-{i}", member_external_id="long", amount=f"{i + 1}.00")
    for name, extra in (("Perk", {"min_tier": "Silver"}), ("Basket", {"category": None})):
        await rewards.create_reward(
            rewards.RewardInput(name=name, kind="free_shipping", points_cost=10, **extra)
        )
    products = [
        await Product.create(sku=f"P-{i}", name=f"Product {i}", category="general")
        for i in range(25)
    ]
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
            for member_id, count in ((short.id, 1), (long.id, 20), (None, 25))
            for rank, p in enumerate(products[:count])
        ]
    )
    await gql(database, ACCOUNT_PAGE, role=Role.MEMBER, member_id=short.id)  # caches warm

    counts = []
    for member in (short, long):
        with logged_queries() as queries:
            data = await gql(database, ACCOUNT_PAGE, role=Role.MEMBER, member_id=member.id)
        me = data["me"]
        assert me["tier"] == {"name": "Silver"} and len(me["offers"]) == 10, me
        counts.append(queries)

    assert counts[0], "no SQL statement was logged: the counter is not seeing the queries"
    assert len(counts[1]) == len(counts[0]), f"short: {counts[0]}\nlong: {counts[1]}"
    # The member with tier and configuration version, a page of history, the product offers,
    # the catalogue (no reward here is for a category: no lines per category).
    assert len(counts[1]) == ACCOUNT_PAGE_STATEMENTS, counts[1]


async def test_me_history_query_count_does_not_grow_with_entries(database):
    short = await enroll("short")
    await order(database, "short-0", member_external_id="short")
    long = await enroll("long")
    for i in range(30):
        await order(database, f"long-{i}", member_external_id="long", amount=f"{i + 1}.00")
    await gql(database, ME, role=Role.MEMBER, member_id=short.id)  # connection opened, caches warm

    one, one_edges = await history_queries(database, short.id)
    thirty, thirty_edges = await history_queries(database, long.id)

    assert (one_edges, thirty_edges) == (1, 10)
    assert one, "no SQL statement was logged: the counter is not seeing the queries"
    assert len(thirty) == len(one), f"1 entry: {one}\n30 entries: {thirty}"


RECORD_ORDER = """mutation($input: RecordOrderInput!) {
  recordOrder(input: $input) { pointsAwarded replayed userErrors { code } } }"""


async def order_queries(settings: Settings, external_id: str, lines: int) -> list[str]:
    """The statements one recordOrder with this many (known) lines runs."""
    variables = {
        "input": {
            "externalId": external_id,
            "memberExternalId": "buyer",
            "lines": [
                {"sku": f"SKU-{i}", "quantity": 1, "unitPrice": "2.50"} for i in range(lines)
            ],
        }
    }
    with logged_queries() as queries:
        data = await gql(settings, RECORD_ORDER, variables, role=Role.STOREFRONT)
    assert data["recordOrder"]["userErrors"] == []
    return queries


async def test_record_order_query_count_does_not_grow_with_lines(database):
    await enroll("buyer")
    await order_queries(database, "warm-up", 30)  # products created, configuration read

    one = await order_queries(database, "one-line", 1)
    thirty = await order_queries(database, "thirty-lines", 30)

    assert one, "no SQL statement was logged: the counter is not seeing the queries"
    assert len(thirty) == len(one), f"1 line: {one}\n30 lines: {thirty}"
    # The programme's configuration comes from the process's copy, not from its tables.
    config_tables = ("earning_rules", "campaigns", "earning_caps", '"tiers"', "plans")
    assert not [q for q in thirty if any(t in q for t in config_tables)], thirty


PREVIEW = """query($input: PreviewPointsInput!) {
  previewPoints(input: $input) { points eligibleAmount lines { sku points } } }"""


async def test_preview_points_query_count_does_not_grow_with_lines_or_history(database):
    await enroll("buyer")
    await order_queries(database, "warm-up", 30)  # products created, configuration read
    for i in range(10):
        await order_queries(database, f"history-{i}", 1)

    counts = []
    for size in (1, 30):
        variables = {
            "input": {
                "memberExternalId": "buyer",
                "lines": [
                    {"sku": f"SKU-{i}", "quantity": 1, "unitPrice": "2.50"} for i in range(size)
                ],
            }
        }
        with logged_queries() as queries:
            data = await gql(database, PREVIEW, variables, role=Role.STOREFRONT)
        assert len(data["previewPoints"]["lines"]) == size
        counts.append(queries)

    assert counts[0], "no SQL statement was logged: the counter is not seeing the queries"
    assert len(counts[1]) == len(counts[0]), f"1 line: {counts[0]}\n30 lines: {counts[1]}"


CATALOGUE = "{ rewards(first: 100) { edges { node { name pointsCost minTier } } } }"


async def catalogue_queries(settings: Settings) -> tuple[list[str], list[dict[str, object]]]:
    """The statements the public catalogue page runs, and the rewards it listed."""
    with logged_queries() as queries:
        data = await gql(settings, CATALOGUE, role=Role.PUBLIC)
    return queries, [edge["node"] for edge in data["rewards"]["edges"]]


async def test_catalogue_query_count_does_not_grow_with_tier_only_rewards(database):
    """Reward.minTier comes from the configuration the request already holds: no N+1."""
    from loyalty import rewards
    from models import TierBasis, TierWindow

    for name, threshold in (("Silver", 100), ("Gold", 500)):
        await admin.save_tier(
            name=name, threshold=threshold, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
        )

    async def add_rewards(count: int, start: int) -> None:
        for i in range(start, start + count):
            tier = ("Silver", "Gold")[i % 2]
            await rewards.create_reward(
                rewards.RewardInput(
                    name=f"Perk {i:02d}", kind="free_shipping", points_cost=10 + i, min_tier=tier
                )
            )

    await add_rewards(1, 0)
    await gql(database, CATALOGUE, role=Role.PUBLIC)  # connection opened, configuration read
    one, one_listed = await catalogue_queries(database)
    await add_rewards(29, 1)
    await gql(database, CATALOGUE, role=Role.PUBLIC)
    thirty, thirty_listed = await catalogue_queries(database)

    assert one_listed == [{"name": "Perk 00", "pointsCost": 10, "minTier": "Silver"}]
    assert len(thirty_listed) == 30
    assert [r["minTier"] for r in thirty_listed] == ["Silver", "Gold"] * 15
    assert one, "no SQL statement was logged: the counter is not seeing the queries"
    assert len(thirty) == len(one), f"1 reward: {one}\n30 rewards: {thirty}"
    assert not [q for q in thirty if '"tiers"' in q], thirty


PROGRAM = """{ program { name tiers { id name threshold } earningRules { id name description }
    campaigns { id name } actionRules { action points } plans { id name fee }
    caps { period maxPoints } } }"""


async def configure(start: int, count: int) -> None:
    """``count`` more tiers, earning rules, campaigns and plans, and as many action rules
    as there are actions (up to ``count``)."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from models import Action, Period, TierBasis, TierWindow

    now = datetime.now(UTC)
    for i in range(start, start + count):
        await admin.save_tier(
            name=f"T{i}", threshold=i * 10, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
        )
        await admin.save_earning_rule(name=f"R{i}", sku=f"SKU-{i}", points_per_item=1)
        await admin.save_campaign(
            name=f"C{i}", starts_at=now, ends_at=now + timedelta(days=1), fixed_points=5
        )
        await admin.save_plan(name=f"P{i}", fee_cents=100, period_days=30, multiplier=Decimal(2))
    for action in list(Action)[start : start + count]:
        await admin.save_action_rule(action=action, points=5)
    await admin.set_cap(Period.ORDER, 1000 + start)


async def program_queries(settings: Settings) -> tuple[list[str], dict[str, list[object]]]:
    """The statements ``{ program }`` runs once its configuration is read, and the lists."""
    await gql(settings, PROGRAM, role=Role.PUBLIC)  # the configuration read after the change
    with logged_queries() as queries:
        data = await gql(settings, PROGRAM, role=Role.PUBLIC)
    return queries, {k: v for k, v in data["program"].items() if isinstance(v, list)}


async def test_program_query_reads_the_cached_configuration_however_large(database):
    from models import ActionRule, Campaign, EarningCap, EarningRule, Plan, Tier

    await configure(0, 1)
    one, one_lists = await program_queries(database)
    await configure(1, 19)
    twenty, twenty_lists = await program_queries(database)

    assert {k: len(v) for k, v in one_lists.items()} == {
        "tiers": 1,
        "earningRules": 2,  # the base rule first
        "campaigns": 1,
        "actionRules": 1,
        "plans": 1,
        "caps": 1,
    }
    assert [len(twenty_lists[k]) for k in ("tiers", "earningRules", "campaigns", "plans")] == [
        20,
        21,
        20,
        20,
    ]
    assert len(twenty_lists["actionRules"]) == 6
    assert one, "no SQL statement was logged: the counter is not seeing the queries"
    assert len(twenty) == len(one), f"1 of each: {one}\n20 of each: {twenty}"
    # Only the configuration's version token is read: the rows come from the process's copy.
    tables = [m._meta.db_table for m in (ActionRule, Campaign, EarningCap, EarningRule, Plan, Tier)]
    assert not [q for q in twenty if any(t in q for t in tables)], twenty


COUPONS = """{ me { coupons(first: 20) { edges { node { code reward { name pointsCost } } } } } }"""


async def test_coupons_with_their_rewards_cost_the_same_however_many(database):
    from loyalty import rewards
    from loyalty.ledger.adjust import adjust_points

    few = await enroll("few")
    many = await enroll("many")
    for member, count in ((few, 1), (many, 6)):
        await adjust_points(member.id, 1000, "coupons to redeem")
        for i in range(count):
            reward = await rewards.create_reward(
                rewards.RewardInput(name=f"R{member.id}-{i}", kind="free_shipping", points_cost=10)
            )
            await rewards.redeem(member.id, reward.id)
    await gql(database, COUPONS, role=Role.MEMBER, member_id=few.id)  # caches warm

    with logged_queries() as one:
        await gql(database, COUPONS, role=Role.MEMBER, member_id=few.id)
    with logged_queries() as six:
        data = await gql(database, COUPONS, role=Role.MEMBER, member_id=many.id)

    names = {edge["node"]["reward"]["name"] for edge in data["me"]["coupons"]["edges"]}
    assert len(names) == 6
    assert one, "no SQL statement was logged: the counter is not seeing the queries"
    assert len(six) == len(one), f"1 coupon: {one}\n6 coupons: {six}"
