"""The outbox: events written in the same transaction as the change that caused them.

A writer calls :func:`record` with its transaction's connection, so an event exists exactly when
its change was committed; ``loyalty.events.dispatch`` delivers them afterwards (at least once). Each
event has a random ``event_id`` that receivers use to drop duplicates.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from models import EntryKind, LedgerEntry, OutboxEvent


class EventKind(StrEnum):
    POINTS_EARNED = "points_earned"
    POINTS_SPENT = "points_spent"
    POINTS_EXPIRED = "points_expired"
    REWARD_REDEEMED = "reward_redeemed"
    COUPON_USED = "coupon_used"
    REMINDER_DUE = "reminder_due"


def jsonable(value: Any) -> Any:
    """Dates as ISO text, decimals as text, enums as their value; containers recursively."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


async def record(
    conn: BaseDBAsyncClient,
    kind: EventKind,
    member_id: int | None,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    now: datetime | None = None,
) -> int:
    """Write one event inside the caller's transaction (``key``, if given, is unique); its id."""
    [event_id] = await db.insert(
        conn,
        OutboxEvent,
        [
            {
                "event_id": uuid.uuid4(),
                "kind": kind.value,
                "member_id": member_id,
                "key": key,
                "payload": jsonable(payload),
                "created_at": now or datetime.now(UTC),
            }
        ],
    )
    return int(event_id)


async def ledger_event(conn: BaseDBAsyncClient, entry: LedgerEntry) -> int:
    """The event for a posted ledger entry: earned, spent or expired points."""
    if entry.points > 0:
        kind = EventKind.POINTS_EARNED
    elif entry.kind == EntryKind.EXPIRE:
        kind = EventKind.POINTS_EXPIRED
    else:
        kind = EventKind.POINTS_SPENT
    payload = {
        "entryId": entry.id,
        "entryKind": entry.kind,
        "points": entry.points,
        "balanceAfter": entry.balance_after,
        "shortfall": entry.shortfall,
        "source": entry.source,
        "expiresAt": entry.expires_at,
    }
    return await record(
        conn, kind, entry.member_id, payload, key=f"ledger:{entry.id}", now=entry.created_at
    )
