"""Segment filter and member types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.members.types import MemberType
from loyalty.money import from_cents
from loyalty.reports.segments import SegmentFilter as Filter
from loyalty.reports.segments import SegmentMember as Scored
from models import Member


@strawberry.input
class SegmentFilter:
    min_points: int | None = None
    max_points: int | None = None
    tier: str | None = strawberry.field(default=None, description="Members holding this tier.")
    last_order_before: datetime | None = None
    last_order_after: datetime | None = None
    min_recency: int | None = strawberry.field(default=None, description="RFM score 1-5.")
    min_frequency: int | None = strawberry.field(default=None, description="RFM score 1-5.")
    min_monetary: int | None = strawberry.field(default=None, description="RFM score 1-5.")
    min_rfm: int | None = strawberry.field(
        default=None, description="Sum of the three RFM scores, 3-15."
    )
    at_risk: bool | None = strawberry.field(
        default=None,
        description="No order in atRiskDays after regularOrders+ orders in the "
        "regularWindowDays before.",
    )
    at_risk_days: int = 60
    regular_orders: int = 3
    regular_window_days: int = 90

    def to_domain(self) -> Filter:
        return Filter(
            min_points=self.min_points,
            max_points=self.max_points,
            tier=self.tier,
            last_order_before=self.last_order_before,
            last_order_after=self.last_order_after,
            min_recency=self.min_recency,
            min_frequency=self.min_frequency,
            min_monetary=self.min_monetary,
            min_rfm=self.min_rfm,
            at_risk=self.at_risk,
            at_risk_days=self.at_risk_days,
            regular_orders=self.regular_orders,
            regular_window_days=self.regular_window_days,
        )


@strawberry.type
class SegmentMember:
    member: MemberType
    orders: int
    spend: Decimal = strawberry.field(description="Subtotal less discounts and refunds.")
    last_order_at: datetime | None
    recency: int | None
    frequency: int | None
    monetary: int | None
    rfm: int | None
    at_risk: bool

    @classmethod
    def of(cls, found: tuple[Member, Scored]) -> SegmentMember:
        member, s = found
        return cls(
            member=MemberType.from_row(member),
            orders=s.orders,
            spend=from_cents(s.spend_cents),
            last_order_at=s.last_order_at,
            recency=s.recency,
            frequency=s.frequency,
            monetary=s.monetary,
            rfm=s.rfm,
            at_risk=s.at_risk,
        )

    @staticmethod
    def key(found: tuple[Member, Scored]) -> int:
        """The cursor's key: the member's id (segments page in id order)."""
        return found[0].id
