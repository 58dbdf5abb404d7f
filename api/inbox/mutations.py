"""Inbox mutations: replay a parked delivery (admin)."""

from __future__ import annotations

import strawberry

from api.context import Info, Role, require
from api.errors import UserError, payload
from api.inbox.types import InboxDeliveryType
from api.relay import decode_id
from loyalty.platforms import inbox


@strawberry.type
class ReplayWebhookPayload:
    delivery: InboxDeliveryType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InboxMutation:
    @strawberry.mutation(
        description="Apply a parked delivery again (admin); an applied or ignored one is "
        "returned as it is, so a delivery is applied once however often it is replayed."
    )
    @payload(ReplayWebhookPayload)
    async def replay_webhook(self, info: Info, id: strawberry.ID) -> ReplayWebhookPayload:
        context = require(info, Role.ADMIN)
        delivery = await inbox.replay(context.settings, decode_id("InboxDelivery", id))
        return ReplayWebhookPayload(delivery=InboxDeliveryType.from_row(delivery))
