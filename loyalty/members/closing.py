"""A customer the shop deleted: the member stays (its history and points are the programme's
record) but is flagged closed, its orders no longer earn and reminders stop."""

from __future__ import annotations

from datetime import UTC, datetime

from loyalty.members import reminders
from models import Member


async def close(external_id: str, now: datetime | None = None) -> Member | None:
    """Flag the member with this shop customer id closed (once); None when not a member."""
    now = now or datetime.now(UTC)
    member = await Member.get_or_none(external_id=external_id.strip())
    if member is None:
        return None
    if member.closed_at is None:
        await Member.filter(id=member.id, closed_at__isnull=True).update(closed_at=now)
        await reminders.set_opt_out(member.id, True, now)
        await member.refresh_from_db()
    return member
