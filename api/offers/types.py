"""Offer and product types."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

import strawberry

from api.relay import encode_id
from api.rewards.types import RewardType
from loyalty.money import from_cents
from loyalty.offers.serving import ProductOffer, RewardOffer
from models import Product


@strawberry.enum
class OfferKind(Enum):
    PRODUCT = "PRODUCT"
    REWARD = "REWARD"


@strawberry.enum
class OfferReason(Enum):
    BOUGHT_OFTEN = "BOUGHT_OFTEN"
    SIMILAR_MEMBERS = "SIMILAR_MEMBERS"
    POPULAR = "POPULAR"
    AFFORDABLE_NOW = "AFFORDABLE_NOW"


@strawberry.type(name="Product")
class ProductType:
    id: strawberry.ID
    sku: str
    name: str
    category: str | None
    price: Decimal | None

    @classmethod
    def from_row(cls, row: Product) -> ProductType:
        return cls(
            id=strawberry.ID(encode_id("Product", row.id)),
            sku=row.sku,
            name=row.name,
            category=row.category,
            price=from_cents(row.price_cents) if row.price_cents is not None else None,
        )


@strawberry.type
class Offer:
    kind: OfferKind
    product: ProductType | None
    reward: RewardType | None
    score: float
    reason: OfferReason

    @classmethod
    def for_product(cls, offer: ProductOffer) -> Offer:
        return cls(
            kind=OfferKind.PRODUCT,
            product=ProductType.from_row(offer.product),
            reward=None,
            score=offer.score,
            reason=OfferReason(offer.reason),
        )

    @classmethod
    def for_reward(cls, offer: RewardOffer) -> Offer:
        return cls(
            kind=OfferKind.REWARD,
            product=None,
            reward=RewardType.from_row(offer.reward),
            score=offer.score,
            reason=OfferReason(offer.reason),
        )
