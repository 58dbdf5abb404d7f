"""Reading a member's ledger history, newest first, with keyset pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from tortoise.functions import Sum

from loyalty import db
from loyalty.paging import fetch_page
from models import EntryKind, LedgerEntry, Lot


class Entry(NamedTuple):
    """A ledger entry as the history shows it: a row, not a model instance (the account page
    reads a page of these per request)."""

    id: int
    kind: EntryKind
    points: int
    balance_after: int
    shortfall: int
    settled: int
    created_at: datetime
    expires_at: datetime | None
    source: str | None


_COLUMNS = ", ".join(LedgerEntry._meta.fields_db_projection[name] for name in Entry._fields)
# Newest first by id: one seek of the (member_id, id) index, whatever the history's length.
_NEWEST = f"SELECT {_COLUMNS} FROM ledger_entries WHERE member_id = $1 ORDER BY id DESC LIMIT $2"
_OLDER = (
    f"SELECT {_COLUMNS} FROM ledger_entries WHERE member_id = $1 AND id < $3 "
    "ORDER BY id DESC LIMIT $2"
)


async def entries(member_id: int, first: int, before_id: int | None) -> tuple[list[Entry], bool]:
    """A page of entries, newest first, older than the cursor; and whether more follow."""

    async def fetch(limit: int) -> list[Entry]:
        conn = db.connection()
        if before_id is None:
            rows = await db.fetch(conn, _NEWEST, member_id, limit)
        else:
            rows = await db.fetch(conn, _OLDER, member_id, limit, before_id)
        return [_entry(row) for row in rows]

    return await fetch_page(fetch, first)


def _entry(row: dict[str, Any]) -> Entry:
    return Entry(
        row["id"],
        EntryKind(row["kind"]),
        row["points"],
        row["balance_after"],
        row["shortfall"],
        row["settled"],
        db.timestamp(row["created_at"]),  # type: ignore[arg-type]
        db.timestamp(row["expires_at"]),
        row["source"],
    )


async def expiring_points(member_id: int, within_days: int, now: datetime | None = None) -> int:
    """Points of this member's lots that expire within the next ``within_days`` days."""
    now = now or datetime.now(UTC)
    result = await (
        Lot.filter(
            member_id=member_id, remaining__gt=0, expires_at__lte=now + timedelta(days=within_days)
        )
        .annotate(total=Sum("remaining"))
        .values("total")
    )
    return int(result[0]["total"] or 0) if result else 0
