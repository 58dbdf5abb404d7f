"""Serving offers: precomputed rows of the active version, popularity for everyone else."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.functions import Count

from models import MemberOffer, ModelVersion, OrderLine, Product


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
