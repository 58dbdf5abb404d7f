"""Retention (``LOYALTY_RETENTION_DAYS``): raw platform deliveries that were dealt with and
outgoing events delivered to every receiver are deleted once older than the setting.

What stays: parked deliveries (waiting for someone), events still pending or failed for any
receiver (they may be retried or inspected), and everything the programme's figures are made
of (members, orders, the ledger, coupons, the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.settings import Settings
from models import DeliveryStatus, InboxStatus

BATCH = 1000


@dataclass
class Pruned:
    deliveries: int = 0
    events: int = 0

    def __str__(self) -> str:
        return f"deleted {self.deliveries} platform deliveries and {self.events} sent events"


_OLD_DELIVERIES = (
    "SELECT id FROM inbox_deliveries WHERE status IN ($1, $2) AND received_at < $3 "
    "ORDER BY id LIMIT $4"
)
# An event goes once it is old and no delivery of it is still pending or failed.
_SENT_EVENTS = """
SELECT e.id FROM outbox_events e
WHERE e.created_at < $1
  AND EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = e.id)
  AND NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = e.id AND d.status <> $2)
ORDER BY e.id LIMIT $3
"""


async def prune(settings: Settings, now: datetime) -> Pruned:
    """Delete what has outlived ``settings.retention_days`` (0: nothing), in batches."""
    pruned = Pruned()
    if settings.retention_days <= 0:
        return pruned
    cutoff = now - timedelta(days=settings.retention_days)
    conn = db.connection()
    while True:
        rows = await db.fetch(
            conn,
            _OLD_DELIVERIES,
            InboxStatus.APPLIED.value,
            InboxStatus.IGNORED.value,
            cutoff,
            BATCH,
        )
        if not rows:
            break
        ids = [row["id"] for row in rows]
        pruned.deliveries += await db.execute(
            conn, f"DELETE FROM inbox_deliveries WHERE id IN ({db.in_list(len(ids))})", *ids
        )
    while True:
        rows = await db.fetch(conn, _SENT_EVENTS, cutoff, DeliveryStatus.DELIVERED.value, BATCH)
        if not rows:
            break
        ids = [row["id"] for row in rows]
        pruned.events += await db.atomic(partial(_delete_events, ids=ids))
    return pruned


async def _delete_events(conn: BaseDBAsyncClient, *, ids: list[int]) -> int:
    marks = db.in_list(len(ids))
    await db.execute(conn, f"DELETE FROM event_deliveries WHERE event_id IN ({marks})", *ids)
    return await db.execute(conn, f"DELETE FROM outbox_events WHERE id IN ({marks})", *ids)
