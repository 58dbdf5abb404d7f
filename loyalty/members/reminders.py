"""Reminder statements: every ``reminder_days`` each member gets a reminder event in the outbox,
carrying its statement; members who opted out of marketing get none.

A member's reminder is claimed with one conditional upsert of its ``marketing_preferences`` row
(``last_reminder_at`` moves forward only when it is old enough and the member has not opted out),
and the event is written in that same transaction: a second run, concurrent or the same day,
finds nothing due. The event's key (member and day) backs this with a unique constraint.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.errors import ErrorCode, NotFound
from loyalty.events import outbox
from loyalty.members import statements
from loyalty.settings import Settings
from models import Member

_DUE = """
SELECT m.id FROM members m
LEFT JOIN marketing_preferences p ON p.member_id = m.id
WHERE (p.id IS NULL OR (p.opted_out = $1 AND (p.last_reminder_at IS NULL
                                               OR p.last_reminder_at <= $2)))
ORDER BY m.id
"""

_CLAIM = """
INSERT INTO marketing_preferences (member_id, opted_out, last_reminder_at, updated_at)
VALUES ($1, $2, $3, $3)
ON CONFLICT (member_id) DO UPDATE
SET last_reminder_at = excluded.last_reminder_at, updated_at = excluded.updated_at
WHERE marketing_preferences.opted_out = $2
  AND (marketing_preferences.last_reminder_at IS NULL
       OR marketing_preferences.last_reminder_at <= $4)
RETURNING member_id
"""

_OPT_OUT = """
INSERT INTO marketing_preferences (member_id, opted_out, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (member_id) DO UPDATE
SET opted_out = excluded.opted_out, updated_at = excluded.updated_at
"""


async def write_reminders(settings: Settings, now: datetime) -> int:
    """Write a reminder event for every member due one at ``now``; how many were written."""
    now = now.astimezone(UTC)
    cutoff = now - timedelta(days=settings.reminder_days)
    due = await db.fetch(db.connection(), _DUE, False, cutoff)
    written = 0
    for row in due:
        member_id = int(row["id"])
        statement = await statements.build(member_id, now)

        async def claim(
            conn: BaseDBAsyncClient,
            member_id: int = member_id,
            statement: statements.Statement = statement,
        ) -> bool:
            claimed = await db.fetch(conn, _CLAIM, member_id, False, now, cutoff)
            if not claimed:
                return False
            await outbox.record(
                conn,
                outbox.EventKind.REMINDER_DUE,
                member_id,
                statement.payload(),
                key=f"reminder:{member_id}:{now.date().isoformat()}",
                now=now,
            )
            return True

        if await db.atomic(claim):
            written += 1
    return written


async def set_opt_out(member_id: int, opt_out: bool, now: datetime) -> bool:
    """Opt a member out of (or back into) marketing reminders; the new setting."""
    if not await Member.exists(id=member_id):
        raise NotFound("member not found", field="memberId", code=ErrorCode.MEMBER_NOT_FOUND)
    await write_opt_out(db.connection(), member_id, opt_out, now)
    return opt_out


async def write_opt_out(
    conn: BaseDBAsyncClient, member_id: int, opt_out: bool, now: datetime
) -> None:
    """Set a member's marketing opt-out inside the caller's transaction."""
    await db.execute(conn, _OPT_OUT, member_id, opt_out, now)


async def opted_out(member_id: int) -> bool:
    rows = await db.fetch(
        db.connection(),
        "SELECT opted_out FROM marketing_preferences WHERE member_id = $1",
        member_id,
    )
    return bool(rows and rows[0]["opted_out"])
