"""Crediting a batch of backfilled orders in a few statements (the bulk import's ledger path).

Each order with points gets what ``credit`` would give it: an ``earn_order`` entry under
``keys.order`` and a lot expiring by ``lot_expires_at``, both stamped at the order time. The
entries' ``balance_after`` runs from each member's locked balance in entry-id order, then each
member's balance (with lifetime points, lifetime spend and last order time, in the same
statement) moves once by the batch's sum. Entries and lots go in with COPY (PostgreSQL) or
executemany (SQLite). A backfill is history, not news: it writes no outbox events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.ledger import keys
from loyalty.ledger.expiry import lot_expires_at
from loyalty.settings import Settings
from models import EntryKind, LedgerEntry, Lot

EARN_ORDER = EntryKind.EARN_ORDER.value

_CREDIT_MEMBER = (
    "UPDATE members SET balance = balance + $1, lifetime_points = lifetime_points + $1, "
    "lifetime_spend_cents = lifetime_spend_cents + $2, "
    "last_order_at = CASE WHEN last_order_at IS NULL OR last_order_at < $3 THEN $3 "
    "ELSE last_order_at END WHERE id = $4"
)


@dataclass(frozen=True)
class OrderCredit:
    """One backfilled order as its member's account sees it."""

    member_id: int
    order_external_id: str
    placed_at: datetime
    points: int  # 0: the order earned nothing; its spend still counts
    spend_cents: int


async def credit_orders(
    conn: BaseDBAsyncClient,
    settings: Settings,
    credits: Sequence[OrderCredit],
    balances: Mapping[int, int],
) -> int:
    """Post these orders' points in the caller's transaction; the points credited.

    The members must be locked (:func:`loyalty.ledger.lock_members`) and ``balances`` (by
    member id) read under that lock; no order may have been credited before (its key is
    unique: a repeat raises ``IntegrityError`` and rolls the transaction back).
    """
    earning = [credit for credit in credits if credit.points > 0]
    entry_ids = await db.reserve_ids(conn, LedgerEntry, len(earning))
    running = dict(balances)
    entries: list[dict[str, Any]] = []
    lots: list[dict[str, Any]] = []
    for entry_id, credit in zip(entry_ids, earning, strict=True):
        member_id, placed, points = credit.member_id, credit.placed_at, credit.points
        running[member_id] += points
        expires_at = lot_expires_at(settings, placed)
        entries.append(
            {
                "id": entry_id,
                "member_id": member_id,
                "kind": EARN_ORDER,
                "points": points,
                "balance_after": running[member_id],
                "shortfall": 0,
                "idempotency_key": keys.order(credit.order_external_id),
                "source": keys.order_source(credit.order_external_id),
                "expires_at": expires_at,
                "created_at": placed,
            }
        )
        lots.append(
            {
                "entry_id": entry_id,
                "member_id": member_id,
                "points": points,
                "remaining": points,
                "expires_at": expires_at,
                "created_at": placed,
            }
        )
    totals: dict[int, tuple[int, int, datetime]] = {}
    for credit in credits:
        earned, spent, last = totals.get(credit.member_id, (0, 0, credit.placed_at))
        totals[credit.member_id] = (
            earned + credit.points,
            spent + credit.spend_cents,
            max(last, credit.placed_at),
        )
    await db.bulk_insert(conn, LedgerEntry, entries)
    await db.bulk_insert(conn, Lot, lots)
    if totals:
        await conn.execute_many(
            db.sql(conn, _CREDIT_MEMBER),
            [
                [earned, spent, last, member_id]
                for member_id, (earned, spent, last) in totals.items()
            ],
        )
    return sum(credit.points for credit in earning)
