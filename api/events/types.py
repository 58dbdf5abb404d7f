"""Webhook delivery types."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.relay import encode_id
from models import DeliveryStatus, EventDelivery

EventDeliveryStatus = strawberry.enum(DeliveryStatus, name="EventDeliveryStatus")


@strawberry.type(name="EventDelivery")
class EventDeliveryType:
    id: strawberry.ID
    event_id: str = strawberry.field(description="What receivers de-duplicate on.")
    kind: str
    member_id: strawberry.ID | None
    url: str
    status: EventDeliveryStatus  # type: ignore[valid-type]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: EventDelivery) -> EventDeliveryType:
        event = row.event
        member = event.member_id
        return cls(
            id=strawberry.ID(encode_id("EventDelivery", row.id)),
            event_id=str(event.event_id),
            kind=event.kind,
            member_id=strawberry.ID(encode_id("Member", member)) if member is not None else None,
            url=row.url,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
        )
