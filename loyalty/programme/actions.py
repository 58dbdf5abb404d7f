"""Points for actions (signup, birthday, review, social follow/share, newsletter), each with a
limit per period; a repeated reference earns once (it is the idempotency key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db, ledger
from loyalty.errors import ErrorCode, InvalidInput
from loyalty.ledger import keys
from loyalty.ledger.expiry import lot_expires_at
from loyalty.members.lookup import by_external_id
from loyalty.programme import tiers
from loyalty.programme.config import period_start
from loyalty.settings import Settings
from models import Action, ActionRule, EntryKind, LedgerEntry, Member


@dataclass(frozen=True)
class ActionResult:
    points: int
    entry: LedgerEntry | None
    replayed: bool


async def award(
    conn: BaseDBAsyncClient,
    settings: Settings,
    member_id: int,
    action: Action,
    reference: str,
    at: datetime,
) -> ActionResult:
    """Credit an action inside the caller's transaction (no rule: nothing)."""
    rule = await ActionRule.filter(action=action, active=True).using_db(conn).first()
    if rule is None:
        return ActionResult(0, None, replayed=False)
    key = keys.action(member_id, action.value, reference)
    found = await ledger.existing(key, conn)
    if found is not None:
        return ActionResult(found.points, found, replayed=True)
    await ledger.lock_member(conn, member_id)
    taken = LedgerEntry.filter(
        member_id=member_id, kind=EntryKind.EARN_ACTION, source=f"action:{action.value}"
    ).using_db(conn)
    start = period_start(rule.period, at)
    if start is not None:
        taken = taken.filter(created_at__gte=start)
    if await taken.count() >= rule.limit_count:
        raise InvalidInput(
            f"{action.name} already earned {rule.limit_count} time(s) this {rule.period.value}",
            field="action",
            code=ErrorCode.LIMIT_REACHED,
        )
    posted = await ledger.credit(
        conn,
        member_id,
        rule.points,
        kind=EntryKind.EARN_ACTION,
        key=key,
        source=f"action:{action.value}",
        expires_at=lot_expires_at(settings, at),
    )
    await tiers.upgrade(conn, member_id, at)
    return ActionResult(rule.points, posted.entry, replayed=False)


async def record_action(
    settings: Settings,
    member_external_id: str,
    action: Action,
    reference: str,
    at: datetime | None = None,
) -> ActionResult:
    """recordAction: credit the action's points once per reference, within the rule's limit."""
    at = at or datetime.now(UTC)
    if not reference or len(reference) > 128:
        raise InvalidInput("reference must be 1 to 128 characters", field="reference")
    member = await by_external_id(member_external_id)
    if not await ActionRule.exists(action=action, active=True):
        raise InvalidInput(f"no active rule for {action.name}", field="action")
    return await db.atomic(lambda conn: award(conn, settings, member.id, action, reference, at))


async def birthdays(settings: Settings, now: datetime) -> int:
    """Award BIRTHDAY once per year to members whose birthday is today (UTC)."""
    if not await ActionRule.exists(action=Action.BIRTHDAY, active=True):
        return 0
    today = now.astimezone(UTC).date()
    awarded = 0
    rows = await Member.filter(birthday__isnull=False).values_list("id", "birthday")
    for member_id, birthday in rows:
        if (birthday.month, birthday.day) != (today.month, today.day):
            continue
        result = await db.atomic(
            partial(
                award,
                settings=settings,
                member_id=member_id,
                action=Action.BIRTHDAY,
                reference=str(today.year),
                at=now,
            )
        )
        awarded += 1 if result.entry is not None and not result.replayed else 0
    return awarded
