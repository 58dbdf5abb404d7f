"""Serving offers: precomputed product rows of the active version (popularity for everyone else)
or of the member's experiment arm, and catalogue rewards ranked by affinity and affordability.
Only offerable products are served (``loyalty.offers.offerable``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from loyalty import db
from loyalty.offers import experiments
from loyalty.offers.offerable import OFFERABLE
from loyalty.programme.config import ProgramConfig, TierState, member_tier, program_config
from loyalty.rewards import catalogue, tier_allows
from models import (
    ArmSource,
    ExperimentArm,
    Member,
    ModelVersion,
    Product,
    Reward,
    RewardKind,
)
from recommend.rewards import REWARD_CONTEXT, RewardSignals, reward_score


@dataclass(frozen=True)
class ProductOffer:
    product: Product
    score: float
    reason: str
    version_id: int = 0  # the model version whose rows served it; 0 before any model
    rank: int = 0


# Every column of the offered product, so a row loads as the model (a new column comes along).
OFFER_COLUMNS = ", ".join(f"p.{column}" for column in Product._meta.fields_db_projection.values())
_ACTIVE = "SELECT id FROM model_versions WHERE active LIMIT 1"


def _offer_rows(version: str) -> str:
    """The member's own rows, then the popularity fallback, of one version and offerable
    products (the version as a value, so both parts seek the (version, member, rank) index)."""
    return f"""
SELECT * FROM (
  SELECT 0 AS fallback, mo.rank, mo.score, mo.reason, mo.version_id AS offer_version,
         {OFFER_COLUMNS}
  FROM member_offers mo JOIN products p ON p.id = mo.product_id AND {OFFERABLE}
  WHERE mo.version_id = ({version}) AND mo.member_id = $1
  ORDER BY mo.rank LIMIT $2) own
UNION ALL
SELECT * FROM (
  SELECT 1 AS fallback, mo.rank, mo.score, mo.reason, mo.version_id AS offer_version,
         {OFFER_COLUMNS}
  FROM member_offers mo JOIN products p ON p.id = mo.product_id AND {OFFERABLE}
  WHERE mo.version_id = ({version}) AND mo.member_id IS NULL
  ORDER BY mo.rank LIMIT $3) popular
ORDER BY fallback, rank
"""


_ACTIVE_ROWS = _offer_rows(_ACTIVE)
_VERSION_ROWS = _offer_rows("$4")


async def product_offers(
    member_id: int, n: int, arm: ExperimentArm | None = None
) -> list[ProductOffer]:
    """The member's best ``n`` offers of offerable products, topped up with popular ones.

    ``arm`` is the member's experiment arm: a model version's rows, popularity only, or none.
    One statement reads both parts; the list for a smaller ``n`` is a prefix of this one.
    """
    if arm is not None and arm.source == ArmSource.NONE:
        return []
    own = 0 if arm is not None and arm.source == ArmSource.POPULAR else n
    if arm is not None and arm.model_version_id is not None:
        args: tuple[object, ...] = (member_id, own, 2 * n, arm.model_version_id)
        rows = await db.fetch(db.connection(), _VERSION_ROWS, *args)
    else:
        rows = await db.fetch(db.connection(), _ACTIVE_ROWS, member_id, own, 2 * n)
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
        version_id = int(row.pop("offer_version"))
        product = db.load(Product, row)
        reason = "POPULAR" if row["fallback"] else row["reason"]
        offers.append(ProductOffer(product, row["score"], reason, version_id, len(offers)))
    return offers


async def served_product_offers(
    member_id: int, n: int, now: datetime | None = None, config: ProgramConfig | None = None
) -> list[ProductOffer]:
    """``product_offers`` from the member's arm of the running experiment, if one runs
    (``config``: the programme's configuration, when the caller has read it)."""
    assignment = await experiments.running_arm(member_id, now, config)
    return await product_offers(member_id, n, assignment.arm if assignment else None)


async def offers(
    member: Member,
    first: int,
    now: datetime | None = None,
    *,
    tier: TierState | None = None,
    config: ProgramConfig | None = None,
) -> tuple[list[RewardOffer], list[ProductOffer]]:
    """``Member.offers``: up to a quarter catalogue rewards, the rest products (one read of the
    product offers serves both), from the member's arm when an experiment runs. ``tier`` and
    ``config`` when the caller has read them."""
    ranked = await served_product_offers(member.id, max(REWARD_CONTEXT, first), now, config)
    rewards = await reward_offers(
        member, max(1, first // 4), now, offered=ranked, tier=tier, config=config
    )
    return rewards, ranked[: first - len(rewards)]


async def _popular_now(n: int) -> list[ProductOffer]:
    """Before any model is trained: the products on most order lines."""
    ranked = await db.fetch(
        db.connection(),
        f"SELECT ol.product_id, COUNT(*) AS lines FROM order_lines ol "
        f"JOIN products p ON p.id = ol.product_id AND {OFFERABLE} "
        f"GROUP BY ol.product_id ORDER BY lines DESC, ol.product_id LIMIT $1",
        n,
    )
    products = {p.id: p for p in await Product.filter(id__in=[r["product_id"] for r in ranked])}
    top = max((int(r["lines"]) for r in ranked), default=1)
    return [
        ProductOffer(products[r["product_id"]], int(r["lines"]) / top, "POPULAR", 0, rank)
        for rank, r in enumerate(ranked)
    ]


@dataclass(frozen=True)
class RewardOffer:
    reward: Reward
    score: float
    reason: str
    rank: int = 0


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
    """Catalogue rewards the member may redeem, ranked by :func:`recommend.rewards.reward_score`
    (ties: cheaper first).

    A free product is a reward on its sku, a reward restricted to a category one on the
    category's products: both score by the member's offers of those products and their share
    of the member's order lines; other kinds have a fixed prior. Rewards for a tier above the
    member's are left out. ``offered`` are the member's product offers, ``tier`` the member's
    tier and ``config`` the programme's configuration, when the caller has read them.
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
    lines: dict[tuple[str, str | None], int] = {}
    if any(_on_products(r) for r in rewards):
        rows = await db.fetch(
            db.connection(),
            "SELECT p.sku, p.category, COUNT(*) AS lines FROM order_lines ol "
            "JOIN orders o ON o.id = ol.order_id JOIN products p ON p.id = ol.product_id "
            "WHERE o.member_id = $1 GROUP BY p.sku, p.category",
            member.id,
        )
        lines = {(row["sku"], row["category"]): int(row["lines"]) for row in rows}
    if offered is None:
        offered = await product_offers(member.id, REWARD_CONTEXT)
    context = [(o.product.sku, o.product.category) for o in offered[:REWARD_CONTEXT]]
    return rank_rewards(rewards, member.balance, lines, context, n)


def rank_rewards(
    rewards: Sequence[Reward],
    balance: int,
    lines: Mapping[tuple[str, str | None], int],
    offered: Sequence[tuple[str, str | None]],
    n: int,
) -> list[RewardOffer]:
    """The ranking of ``reward_offers``: rewards the member may redeem, the member's order
    lines per (sku, category), and the (sku, category) of their best product offers, best
    first; ``n`` of them. Pure, so a caller that reads its rows another way ranks the same."""
    by_sku: dict[str, int] = {}
    by_category: dict[str | None, int] = {}
    for (sku, category), count in lines.items():
        by_sku[sku] = by_sku.get(sku, 0) + count
        by_category[category] = by_category.get(category, 0) + count
    total = sum(by_sku.values()) or 1
    sku_rank: dict[str, int] = {}
    category_rank: dict[str | None, int] = {}
    for i, (sku, category) in enumerate(offered[:REWARD_CONTEXT]):
        sku_rank.setdefault(sku, i)
        category_rank.setdefault(category, i)
    ranked = []
    for reward in rewards:
        covered = min(1.0, balance / reward.points_cost)
        if reward.kind == RewardKind.FREE_PRODUCT and reward.sku:
            signals = RewardSignals(
                True, by_sku.get(reward.sku, 0) / total, sku_rank.get(reward.sku), covered=covered
            )
        elif reward.category:
            signals = RewardSignals(
                True,
                by_category.get(reward.category, 0) / total,
                category_rank.get(reward.category),
                covered=covered,
            )
        else:
            signals = RewardSignals(False, prior=GENERIC_AFFINITY[reward.kind], covered=covered)
        score, reason = reward_score(signals)
        ranked.append(RewardOffer(reward, score, str(reason)))
    ranked.sort(key=lambda o: (-o.score, o.reward.points_cost, o.reward.id))
    return [replace(offer, rank=rank) for rank, offer in enumerate(ranked[:n])]


def _on_products(reward: Reward) -> bool:
    return bool(reward.category) or (reward.kind == RewardKind.FREE_PRODUCT and bool(reward.sku))
