"""Serving offers: precomputed product rows of the active version (popularity for everyone else),
and catalogue rewards ranked by affinity and affordability."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.functions import Count

from models import Member, MemberOffer, ModelVersion, OrderLine, Product, Reward, RewardKind


@dataclass(frozen=True)
class ProductOffer:
    product: Product
    score: float
    reason: str


async def product_offers(member_id: int, n: int) -> list[ProductOffer]:
    """The member's best ``n`` offers of active products, topped up with popular ones."""
    version = await ModelVersion.filter(active=True).first()
    if version is None:
        return await _popular_now(n)
    rows = await (
        MemberOffer.filter(version_id=version.id, member_id=member_id, product__active=True)
        .order_by("rank")
        .limit(n)
        .prefetch_related("product")
    )
    offers = [ProductOffer(r.product, r.score, r.reason) for r in rows]
    if len(offers) < n:
        seen = {o.product.id for o in offers}
        fallback = await (
            MemberOffer.filter(version_id=version.id, member_id=None, product__active=True)
            .order_by("rank")
            .limit(n + len(seen))
            .prefetch_related("product")
        )
        offers += [
            ProductOffer(r.product, r.score, "POPULAR")
            for r in fallback
            if r.product_id not in seen
        ][: n - len(offers)]
    return offers


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


async def reward_offers(member_id: int, n: int, now: datetime | None = None) -> list[RewardOffer]:
    """Catalogue rewards ranked by the member's affinity to what they give and by affordability.

    Affinity: a free product the member buys (or is offered) scores by its rank; a reward
    restricted to a category scores by the member's share of lines in that category; other
    kinds have a fixed prior. A reward the balance covers keeps its affinity (AFFORDABLE_NOW);
    one it does not is scaled by how much of it the balance covers.
    """
    now = now or datetime.now(UTC)
    member = await Member.get_or_none(id=member_id)
    if member is None or n <= 0:
        return []
    rewards = [
        r
        for r in await Reward.filter(active=True)
        if (r.starts_at is None or r.starts_at <= now)
        and (r.ends_at is None or r.ends_at > now)
        and (r.stock is None or r.stock > 0)
    ]
    if not rewards:
        return []
    bought = dict(
        await OrderLine.filter(order__member_id=member_id)
        .annotate(lines=Count("id"))
        .group_by("product__category")
        .values_list("product__category", "lines")
    )
    total = sum(bought.values()) or 1
    offered = {o.product.sku: i for i, o in enumerate(await product_offers(member_id, 20))}
    ranked = []
    for reward in rewards:
        if reward.kind == RewardKind.FREE_PRODUCT and reward.sku in offered:
            affinity, liked = 1.0 - offered[reward.sku] / 40, True
        elif reward.category:
            affinity = bought.get(reward.category, 0) / total
            liked = affinity > 0
        else:
            affinity, liked = GENERIC_AFFINITY[reward.kind], False
        covered = min(1.0, member.balance / reward.points_cost)
        score = affinity * (1.0 if covered >= 1.0 else 0.5 * covered)
        reason = "AFFORDABLE_NOW" if covered >= 1.0 else ("BOUGHT_OFTEN" if liked else "POPULAR")
        ranked.append(RewardOffer(reward, round(score, 6), reason))
    ranked.sort(key=lambda o: (-o.score, o.reward.points_cost, o.reward.id))
    return ranked[:n]
