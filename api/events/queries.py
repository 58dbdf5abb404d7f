"""Event queries: webhook deliveries (admin)."""

from __future__ import annotations

import strawberry

from api.context import Info, Role, require
from api.events.types import EventDeliveryStatus, EventDeliveryType
from api.relay import Connection, connection, decode_cursor, encode_cursor, page_size
from loyalty.events import dispatch


@strawberry.type
class EventQuery:
    @strawberry.field(description="Outgoing webhook deliveries, newest first (admin).")
    async def event_deliveries(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: EventDeliveryStatus | None = None,  # type: ignore[valid-type]
    ) -> Connection[EventDeliveryType]:
        require(info, Role.ADMIN)
        rows, more = await dispatch.deliveries(page_size(first), decode_cursor(after), status)
        return connection(
            [EventDeliveryType.from_row(r) for r in rows],
            [encode_cursor(r.id) for r in rows],
            has_next=more,
            has_previous=after is not None,
        )
