"""Inbox queries: the deliveries received from shop platforms (admin)."""

from __future__ import annotations

from functools import partial

import strawberry

from api.context import Info, Role, require
from api.inbox.types import InboxDeliveryType, InboxStatusEnum
from api.relay import Connection, connection
from loyalty.platforms import inbox


@strawberry.type
class InboxQuery:
    @strawberry.field(description="Deliveries from shop platforms, newest first (admin).")
    async def webhook_inbox(
        self,
        info: Info,
        status: InboxStatusEnum | None = None,  # type: ignore[valid-type]
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[InboxDeliveryType]:
        require(info, Role.ADMIN)
        fetch = partial(inbox.page, status)
        return await connection(fetch, InboxDeliveryType.from_row, first, after)
