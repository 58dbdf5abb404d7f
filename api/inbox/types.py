"""Inbox delivery types."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.relay import encode_id
from models import InboxDelivery, InboxStatus

InboxStatusEnum = strawberry.enum(
    InboxStatus,
    name="InboxStatus",
    description="APPLIED: done; PARKED: could not be applied yet (replayable); IGNORED: asks "
    "for nothing (a test order, an unpaid one).",
)


@strawberry.type(name="InboxDelivery")
class InboxDeliveryType:
    id: strawberry.ID
    platform: str
    topic: str
    delivery_id: str = strawberry.field(description="The platform's id of the delivery.")
    status: InboxStatusEnum  # type: ignore[valid-type]
    reason: str | None = strawberry.field(
        description="Why it is parked or ignored; or what it did."
    )
    attempts: int
    body: str = strawberry.field(description="The body as received.")
    received_at: datetime
    updated_at: datetime
    applied_at: datetime | None

    @classmethod
    def from_row(cls, row: InboxDelivery) -> InboxDeliveryType:
        return cls(
            id=strawberry.ID(encode_id("InboxDelivery", row.id)),
            platform=row.platform,
            topic=row.topic,
            delivery_id=row.delivery_id,
            status=row.status,
            reason=row.reason,
            attempts=row.attempts,
            body=row.body,
            received_at=row.received_at,
            updated_at=row.updated_at,
            applied_at=row.applied_at,
        )
