"""Reading a member's ledger history, newest first, with keyset pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.functions import Sum

from loyalty.paging import keyset_page
from models import LedgerEntry, Lot


async def entries(
    member_id: int, first: int, before_id: int | None
) -> tuple[list[LedgerEntry], bool]:
    """A page of entries, newest first, older than the cursor; and whether more follow."""
    query = LedgerEntry.filter(member_id=member_id)
    return await keyset_page(query, first, before_id, newest_first=True)


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
