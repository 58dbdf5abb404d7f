"""Order, refund and points-preview types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.relay import encode_id
from loyalty.money import from_cents
from loyalty.programme.earning import PointsBreakdown
from models import Order, Refund


@strawberry.type(name="Order")
class OrderType:
    id: strawberry.ID
    external_id: str
    placed_at: datetime
    currency: str
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    eligible_amount: Decimal
    points_awarded: int
    refunded_amount: Decimal
    points_reversed: int

    @classmethod
    def from_row(cls, row: Order) -> OrderType:
        return cls(
            id=strawberry.ID(encode_id("Order", row.id)),
            external_id=row.external_id,
            placed_at=row.placed_at,
            currency=row.currency,
            subtotal=from_cents(row.subtotal_cents),
            discount=from_cents(row.discount_cents),
            shipping=from_cents(row.shipping_cents),
            eligible_amount=from_cents(row.eligible_cents),
            points_awarded=row.points_awarded,
            refunded_amount=from_cents(row.refunded_cents),
            points_reversed=row.points_reversed,
        )


@strawberry.type(name="Refund")
class RefundType:
    id: strawberry.ID
    external_id: str
    amount: Decimal
    points_reversed: int
    shortfall: int

    @classmethod
    def from_row(cls, row: Refund) -> RefundType:
        return cls(
            id=strawberry.ID(encode_id("Refund", row.id)),
            external_id=row.external_id,
            amount=from_cents(row.amount_cents),
            points_reversed=row.points_reversed,
            shortfall=row.shortfall,
        )


@strawberry.type
class PreviewLine:
    sku: str
    eligible_amount: Decimal
    points: int
    explanation: str


@strawberry.type
class PointsPreview:
    points: int
    subtotal: Decimal
    discount: Decimal
    eligible_amount: Decimal
    points_per_currency_unit: Decimal
    lines: list[PreviewLine]

    @classmethod
    def from_breakdown(cls, b: PointsBreakdown) -> PointsPreview:
        return cls(
            points=b.points,
            subtotal=from_cents(b.subtotal_cents),
            discount=from_cents(b.discount_cents),
            eligible_amount=from_cents(b.eligible_cents),
            points_per_currency_unit=b.rate,
            lines=[
                PreviewLine(
                    sku=line.sku,
                    eligible_amount=from_cents(line.eligible_cents),
                    points=line.points,
                    explanation=line.explanation,
                )
                for line in b.lines
            ],
        )
