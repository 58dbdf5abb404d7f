"""Event mutations: a member's marketing opt-out (no reminders)."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from api.context import Info, Role, require
from api.errors import UserError, payload
from api.events.types import EventDeliveryType
from api.members.types import MemberType
from api.relay import decode_id
from loyalty import members
from loyalty.events import dispatch
from loyalty.members import reminders
from models import Member


@strawberry.type
class SetMarketingOptOutPayload:
    opt_out: bool | None = None
    member: MemberType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, opt_out: bool, member: Member) -> SetMarketingOptOutPayload:
        return cls(opt_out=opt_out, member=MemberType.from_row(member))


@strawberry.type
class RetryEventDeliveryPayload:
    delivery: EventDeliveryType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class EventMutation:
    @strawberry.mutation(
        description="Opt out of (or back into) reminders: a member for itself, or admin."
    )
    @payload(SetMarketingOptOutPayload)
    async def set_marketing_opt_out(
        self, info: Info, opt_out: bool, member_id: strawberry.ID | None = None
    ) -> SetMarketingOptOutPayload:
        context = require(info, Role.MEMBER, Role.ADMIN)
        named = decode_id("Member", member_id, field="memberId") if member_id else None
        target = context.member_acted_on(named)
        await reminders.set_opt_out(target, opt_out, datetime.now(UTC))
        return SetMarketingOptOutPayload.of(opt_out, await members.get(target))

    @strawberry.mutation(
        description="Send a failed outgoing delivery again at the next dispatch (admin)."
    )
    @payload(RetryEventDeliveryPayload)
    async def retry_event_delivery(
        self, info: Info, id: strawberry.ID
    ) -> RetryEventDeliveryPayload:
        require(info, Role.ADMIN)
        delivery = await dispatch.retry(decode_id("EventDelivery", id))
        return RetryEventDeliveryPayload(delivery=EventDeliveryType.from_row(delivery))
