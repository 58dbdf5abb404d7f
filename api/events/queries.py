"""Event queries: webhook deliveries (admin)."""

from __future__ import annotations

from functools import partial

import strawberry

from api.context import Info, Role, require
from api.events.types import EventDeliveryStatus, EventDeliveryType
from api.relay import Connection, connection
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
        fetch = partial(dispatch.deliveries, status=status)
        return await connection(fetch, EventDeliveryType.from_row, first, after)
