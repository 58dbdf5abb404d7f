"""Inbox queries: the deliveries received from shop platforms (admin)."""

from __future__ import annotations

import strawberry

from api.context import Info, Role, require
from api.inbox.types import InboxDeliveryType, InboxStatusEnum
from api.relay import Connection, connection, decode_cursor, encode_cursor, page_size
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
        rows, more = await inbox.page(status, page_size(first), decode_cursor(after))
        return connection(
            [InboxDeliveryType.from_row(r) for r in rows],
            [encode_cursor(r.id) for r in rows],
            has_next=more,
            has_previous=after is not None,
        )
