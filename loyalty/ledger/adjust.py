"""Admin corrections of a balance: a new entry, positive or negative, never below zero."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db, ledger
from loyalty.errors import ErrorCode, InvalidInput, NotFound
from loyalty.ledger import keys
from loyalty.limits import MAX_POINTS
from loyalty.privacy import audit
from models import EntryKind, Member


async def adjust_points(
    member_id: int, points: int, reason: str, key: str | None = None
) -> ledger.Posted:
    """An admin correction: a new entry, positive or negative; never below zero."""
    if points == 0:
        raise InvalidInput("points must not be zero", field="points")
    if not reason or not reason.strip() or len(reason) > 200:
        raise InvalidInput("reason must be 1 to 200 characters", field="reason")
    if abs(points) > MAX_POINTS:
        raise InvalidInput("points are out of range", field="points")
    if key is not None and not 0 < len(key) <= 200:
        raise InvalidInput("idempotencyKey must be 1 to 200 characters", field="idempotencyKey")
    entry_key = keys.adjustment(key)
    member = await Member.get_or_none(id=member_id)
    if member is None:
        raise NotFound("member not found", field="memberId", code=ErrorCode.MEMBER_NOT_FOUND)
    if member.erased_at is not None:
        raise InvalidInput(
            "this member was erased: it holds no points",
            field="memberId",
            code=ErrorCode.MEMBER_ERASED,
        )

    async def write(conn: BaseDBAsyncClient) -> ledger.Posted:
        if points > 0:
            return await ledger.credit(
                conn,
                member_id,
                points,
                kind=EntryKind.ADJUST,
                key=entry_key,
                source=f"adjust:{reason.strip()}"[:255],
                lifetime=False,
            )
        return await ledger.debit(
            conn,
            member_id,
            -points,
            kind=EntryKind.ADJUST,
            key=entry_key,
            source=f"adjust:{reason.strip()}"[:255],
        )

    async def replay() -> ledger.Posted | None:
        found = await ledger.existing(entry_key)
        return None if found is None else ledger.Posted(found, created=False)

    posted = await db.atomic_idempotent(write, replay)
    if posted.created:
        entry = posted.entry
        audit.changed(
            audit.target_name("Member", member_id),
            {"balance": entry.balance_after - entry.points},
            {"balance": entry.balance_after},
        )
    return posted
