"""Serving offers: precomputed product rows of the active version (popularity for everyone else),
and catalogue rewards ranked by affinity and affordability."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.functions import Count

from loyalty import db
from loyalty.programme.config import ProgramConfig, TierState, member_tier, program_config
from loyalty.rewards import catalogue, tier_allows
from models import Member, ModelVersion, OrderLine, Product, Reward, RewardKind


@dataclass(frozen=True)
class ProductOffer:
    product: Product
    score: float
    reason: str


# Every column of the offered product, so a row loads as the model (a new column comes along).
OFFER_COLUMNS = ", ".join(f"p.{column}" for column in Product._meta.fields_db_projection.values())
_ACTIVE = "SELECT id FROM model_versions WHERE active LIMIT 1"
# The member's own rows, then the popularity fallback, of the active version and active products
# (the version as a value, so both parts seek the (version, member, rank) index).
_OFFER_ROWS = f"""
SELECT * FROM (
  SELECT 0 AS fallback, mo.rank, mo.score, mo.reason, {OFFER_COLUMNS}
  FROM member_offers mo JOIN products p ON p.id = mo.product_id AND p.active
  WHERE mo.version_id = ({_ACTIVE}) AND mo.member_id = $1
  ORDER BY mo.rank LIMIT $2) own
UNION ALL
SELECT * FROM (
  SELECT 1 AS fallback, mo.rank, mo.score, mo.reason, {OFFER_COLUMNS}
  FROM member_offers mo JOIN products p ON p.id = mo.product_id AND p.active
  WHERE mo.version_id = ({_ACTIVE}) AND mo.member_id IS NULL
  ORDER BY mo.rank LIMIT $3) popular
ORDER BY fallback, rank
"""
# Rewards are ranked against this many of the member's product offers.
REWARD_CONTEXT = 20


async def product_offers(member_id: int, n: int) -> list[ProductOffer]:
    """The member's best ``n`` offers of active products, topped up with popular ones.

    One statement reads both parts; the list for a smaller ``n`` is a prefix of this one.
    """
    rows = await db.fetch(db.connection(), _OFFER_ROWS, member_id, n, 2 * n)
    if not rows and not await ModelVersion.exists(active=True):
        return await _popular_now(n)
    offers: list[ProductOffer] = []
    seen: set[int] = set()
    for row in rows:
        if len(offers) == n:
            break
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        product = db.load(Product, row)
        reason = "POPULAR" if row["fallback"] else row["reason"]
        offers.append(ProductOffer(product, row["score"], reason))
    return offers


async def offers(
    member: Member,
    first: int,
    *,
    tier: TierState | None = None,
    config: ProgramConfig | None = None,
) -> tuple[list[RewardOffer], list[ProductOffer]]:
    """``Member.offers``: up to a quarter catalogue rewards, the rest products (one read of the
    product offers serves both). ``tier`` and ``config`` when the caller has read them."""
    ranked = await product_offers(member.id, max(REWARD_CONTEXT, first))
    rewards = await reward_offers(
        member, max(1, first // 4), offered=ranked, tier=tier, config=config
    )
    return rewards, ranked[: first - len(rewards)]


async def _popular_now(n: int) -> list[ProductOffer]:
    """Before any model is trained: the products on most order lines."""
    ranked = await (
        OrderLine.filter(product__active=True)
        .annotate(lines=Count("id"))
        .group_by("product_id")
        .order_by("-lines")
        .limit(n)
        .values("product_id", "lines")
    )
    products = {p.id: p for p in await Product.filter(id__in=[r["product_id"] for r in ranked])}
    top = max((r["lines"] for r in ranked), default=1)
    return [ProductOffer(products[r["product_id"]], r["lines"] / top, "POPULAR") for r in ranked]


@dataclass(frozen=True)
class RewardOffer:
    reward: Reward
    score: float
    reason: str


GENERIC_AFFINITY = {
    RewardKind.FIXED_DISCOUNT: 0.6,
    RewardKind.PERCENT_DISCOUNT: 0.6,
    RewardKind.FREE_SHIPPING: 0.5,
    RewardKind.GIFT_CARD: 0.5,
    RewardKind.DONATION: 0.3,
    RewardKind.FREE_PRODUCT: 0.2,
}


async def reward_offers(
    member: Member,
    n: int,
    now: datetime | None = None,
    *,
    offered: list[ProductOffer] | None = None,
    tier: TierState | None = None,
    config: ProgramConfig | None = None,
) -> list[RewardOffer]:
    """Catalogue rewards the member may redeem, ranked by affinity to what they give and by
    affordability.

    Affinity: a free product the member buys (or is offered) scores by its rank; a reward
    restricted to a category scores by the member's share of lines in that category; other
    kinds have a fixed prior. A reward the balance covers keeps its affinity (AFFORDABLE_NOW);
    one it does not is scaled by how much of it the balance covers. Rewards for a tier above
    the member's are left out. ``offered`` are the member's product offers, ``tier`` the
    member's tier and ``config`` the programme's configuration, when the caller has read them.
    """
    now = now or datetime.now(UTC)
    if n <= 0:
        return []
    rewards = await catalogue(now)
    if any(r.min_tier_id is not None for r in rewards):
        config = config or await program_config()
        held = (tier or await member_tier(member.id)).tier
        rewards = [r for r in rewards if tier_allows(config, held, r)]
    if not rewards:
        return []
    bought: dict[str | None, int] = {}
    if any(r.category for r in rewards):
        rows = await db.fetch(
            db.connection(),
            "SELECT p.category, COUNT(*) AS lines FROM order_lines ol "
            "JOIN orders o ON o.id = ol.order_id JOIN products p ON p.id = ol.product_id "
            "WHERE o.member_id = $1 GROUP BY p.category",
            member.id,
        )
        bought = {row["category"]: int(row["lines"]) for row in rows}
    if offered is None:
        offered = await product_offers(member.id, REWARD_CONTEXT)
    skus = [o.product.sku for o in offered[:REWARD_CONTEXT]]
    return rank_rewards(rewards, member.balance, bought, skus, n)


def rank_rewards(
    rewards: Sequence[Reward],
    balance: int,
    bought: Mapping[str | None, int],
    offered_skus: Sequence[str],
    n: int,
) -> list[RewardOffer]:
    """The ranking of ``reward_offers`` over rewards the member may redeem, the member's lines
    per category and the skus of their best product offers, best first: ``n`` of them."""
    total = sum(bought.values()) or 1
    rank = {sku: i for i, sku in enumerate(offered_skus)}
    ranked = []
    for reward in rewards:
        if reward.kind == RewardKind.FREE_PRODUCT and reward.sku in rank:
            affinity, liked = 1.0 - rank[reward.sku] / 40, True
        elif reward.category:
            affinity = bought.get(reward.category, 0) / total
            liked = affinity > 0
        else:
            affinity, liked = GENERIC_AFFINITY[reward.kind], False
        covered = min(1.0, balance / reward.points_cost)
        score = affinity * (1.0 if covered >= 1.0 else 0.5 * covered)
        reason = "AFFORDABLE_NOW" if covered >= 1.0 else ("BOUGHT_OFTEN" if liked else "POPULAR")
        ranked.append(RewardOffer(reward, round(score, 6), reason))
    ranked.sort(key=lambda o: (-o.score, o.reward.points_cost, o.reward.id))
    return ranked[:n]
