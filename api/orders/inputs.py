"""Order inputs shared by mutations and the points preview."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from loyalty import orders
from loyalty.programme.earning import LineInput


@strawberry.input
class OrderLineInput:
    sku: str
    quantity: int
    unit_price: Decimal
    name: str | None = None
    category: str | None = None

    def to_domain(self) -> LineInput:
        return LineInput(self.sku, self.quantity, self.unit_price, self.name, self.category)


@strawberry.input
class RecordOrderInput:
    external_id: str
    member_external_id: str
    lines: list[OrderLineInput]
    placed_at: datetime | None = None
    currency: str | None = None
    discount: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)

    def to_domain(self) -> orders.OrderInput:
        return orders.OrderInput(
            external_id=self.external_id,
            member_external_id=self.member_external_id,
            lines=[line.to_domain() for line in self.lines],
            currency=self.currency,
            placed_at=self.placed_at,
            discount=self.discount,
            shipping=self.shipping,
        )


@strawberry.input
class RefundLineInput:
    sku: str
    quantity: int

    def to_domain(self) -> orders.RefundLineInput:
        return orders.RefundLineInput(self.sku, self.quantity)


@strawberry.input
class RefundOrderInput:
    order_external_id: str
    external_id: str | None = strawberry.field(
        default=None, description="The shop's refund id; repeats with the same id are no-ops."
    )
    amount: Decimal | None = None
    lines: list[RefundLineInput] | None = None

    def to_domain(self) -> orders.RefundInput:
        return orders.RefundInput(
            order_external_id=self.order_external_id,
            external_id=self.external_id,
            amount=self.amount,
            lines=[line.to_domain() for line in self.lines or []],
        )


@strawberry.input
class PreviewPointsInput:
    lines: list[OrderLineInput]
    member_external_id: str | None = None
    discount: Decimal = Decimal(0)
