"""Offer and product types."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

import strawberry

from api.relay import encode_id
from api.rewards.types import RewardType
from loyalty.money import from_cents
from loyalty.offers import feedback
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
    offerable: bool = strawberry.field(
        description="False when the product itself is marked not offerable (its category may "
        "be marked too: see nonOfferableCategories)."
    )

    @classmethod
    def from_row(cls, row: Product) -> ProductType:
        return cls(
            id=strawberry.ID(encode_id("Product", row.id)),
            sku=row.sku,
            name=row.name,
            category=row.category,
            price=from_cents(row.price_cents) if row.price_cents is not None else None,
            offerable=row.offerable,
        )


@strawberry.type
class Offer:
    offer_id: str = strawberry.field(
        description="Stable, signed id of this offer to this member (model version, rank, "
        "item): what recordOfferEvents takes."
    )
    kind: OfferKind
    product: ProductType | None
    reward: RewardType | None
    score: float
    reason: OfferReason

    @classmethod
    def for_product(cls, offer: ProductOffer, member_id: int, secret: str) -> Offer:
        return cls(
            offer_id=feedback.product_offer_id(member_id, offer, secret),
            kind=OfferKind.PRODUCT,
            product=ProductType.from_row(offer.product),
            reward=None,
            score=offer.score,
            reason=OfferReason(offer.reason),
        )

    @classmethod
    def for_reward(cls, offer: RewardOffer, member_id: int, secret: str) -> Offer:
        return cls(
            offer_id=feedback.reward_offer_id(member_id, offer, secret),
            kind=OfferKind.REWARD,
            product=None,
            reward=RewardType.from_row(offer.reward),
            score=offer.score,
            reason=OfferReason(offer.reason),
        )
