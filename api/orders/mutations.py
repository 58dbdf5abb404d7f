"""Order mutations: recordOrder, refundOrder."""

from __future__ import annotations

import strawberry

from api.context import STAFF, Info, require
from api.errors import UserError, payload
from api.members.types import MemberType
from api.orders.inputs import RecordOrderInput, RefundOrderInput
from api.orders.types import OrderType, RefundType
from loyalty import members, orders


@strawberry.type
class RecordOrderPayload:
    order: OrderType | None = None
    member_id: strawberry.Private[int | None] = None
    points_awarded: int = 0
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, result: orders.OrderResult) -> RecordOrderPayload:
        return cls(
            order=OrderType.from_row(result.order),
            member_id=result.order.member_id,
            points_awarded=result.points_awarded,
            replayed=result.replayed,
        )

    @strawberry.field(description="The member, read only when asked for.")
    async def member(self) -> MemberType | None:
        if self.member_id is None:
            return None
        return MemberType.from_row(await members.get(self.member_id))


@strawberry.type
class RefundOrderPayload:
    refund: RefundType | None = None
    order: OrderType | None = None
    points_reversed: int = 0
    shortfall: int = 0
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, result: orders.RefundResult) -> RefundOrderPayload:
        return cls(
            refund=RefundType.from_row(result.refund),
            order=OrderType.from_row(result.order),
            points_reversed=result.points_reversed,
            shortfall=result.shortfall,
            replayed=result.replayed,
        )


@strawberry.type
class OrderMutation:
    @strawberry.mutation(description="Record a shop order once; a retry returns the first result.")
    @payload(RecordOrderPayload)
    async def record_order(self, info: Info, input: RecordOrderInput) -> RecordOrderPayload:
        context = require(info, *STAFF)
        result = await orders.record_order(context.settings, input.to_domain())
        return RecordOrderPayload.of(result)

    @strawberry.mutation(description="Refund an amount or lines; reverses proportional points.")
    @payload(RefundOrderPayload)
    async def refund_order(self, info: Info, input: RefundOrderInput) -> RefundOrderPayload:
        context = require(info, *STAFF)
        result = await orders.refund_order(context.settings, input.to_domain())
        return RefundOrderPayload.of(result)
