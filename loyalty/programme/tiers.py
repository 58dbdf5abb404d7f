"""Tiers: upgrade at once when an order or action crosses a threshold, downgrade only when the
qualification period ends (the jobs runner), never in the middle of it.

Calendar-year tiers: reaching a tier holds it to the end of the year; at the year's end the year
that just ended is evaluated, so a tier earned in a year is kept through the next one. Rolling
tiers: twelve months from reaching it, then the last twelve months are evaluated. Lifetime tiers
never end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.programme.config import member_tier
from models import EntryKind, MemberTier, Tier, TierBasis, TierWindow

YEAR = timedelta(days=365)


def _year_start(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def window_start(window: TierWindow, at: datetime) -> datetime | None:
    """Start of the qualification window that contains ``at``."""
    if window == TierWindow.CALENDAR_YEAR:
        return _year_start(at)
    if window == TierWindow.ROLLING_12_MONTHS:
        return at - YEAR
    return None


def period_end(window: TierWindow, at: datetime) -> datetime | None:
    """When a tier reached at ``at`` comes up for re-evaluation."""
    if window == TierWindow.CALENDAR_YEAR:
        return _year_start(at).replace(year=_year_start(at).year + 1)
    if window == TierWindow.ROLLING_12_MONTHS:
        return at + YEAR
    return None


async def qualifying_value(
    member_id: int,
    basis: TierBasis,
    start: datetime | None,
    end: datetime,
    conn: BaseDBAsyncClient | None = None,
) -> int:
    """Spend in cents (net of refunds) or points earned (orders net of reversals, plus
    actions), in ``[start, end)``; one statement."""
    conn = conn or db.connection()
    args: list[object] = [member_id, end]
    if basis != TierBasis.SPEND:
        args.append(EntryKind.EARN_ACTION.value)  # $3
    since = "" if start is None else f" AND placed_at >= ${len(args) + 1}"
    if start is not None:
        args.append(start)
    if basis == TierBasis.SPEND:
        query = (
            "SELECT COALESCE(SUM(eligible_cents - refunded_cents), 0) AS value FROM orders "
            f"WHERE member_id = $1 AND placed_at < $2{since}"
        )
    else:
        query = (
            "SELECT (SELECT COALESCE(SUM(points_awarded - points_reversed), 0) FROM orders "
            f"WHERE member_id = $1 AND placed_at < $2{since}) + "
            "(SELECT COALESCE(SUM(points), 0) FROM ledger_entries "
            "WHERE member_id = $1 AND kind = $3 AND created_at < $2"
            f"{since.replace('placed_at', 'created_at')}) AS value"
        )
    rows = await db.fetch(conn, query, *args)
    return int(rows[0]["value"])


async def _tiers(conn: BaseDBAsyncClient | None = None) -> list[Tier]:
    query = Tier.filter(active=True).order_by("threshold")
    return await (query.using_db(conn) if conn else query)


def _best(tiers: list[Tier], value: int) -> Tier | None:
    reached = [t for t in tiers if t.threshold <= value]
    return reached[-1] if reached else None


async def upgrade(conn: BaseDBAsyncClient, member_id: int, at: datetime) -> Tier | None:
    """Move the member up at once if the current window now qualifies for a higher tier."""
    tiers = await _tiers(conn)
    if not tiers:
        return None
    current = (await member_tier(member_id, conn)).tier
    return await upgrade_from(conn, member_id, at, tiers, current)


async def upgrade_from(
    conn: BaseDBAsyncClient,
    member_id: int,
    at: datetime,
    tiers: Sequence[Tier],
    current: Tier | None,
) -> Tier | None:
    """``upgrade`` for a caller that has read the active tiers (by threshold) and the member's
    current tier under the member's lock already."""
    if not tiers or (current is not None and current.threshold >= tiers[-1].threshold):
        return None  # no tiers, or the top one is held
    basis, window = tiers[0].basis, tiers[0].window
    value = await qualifying_value(
        member_id, basis, window_start(window, at), at + timedelta(seconds=1), conn
    )
    best = _best(list(tiers), value)
    if best is None or (current is not None and best.threshold <= current.threshold):
        return None
    await db.execute(
        conn,
        "INSERT INTO member_tiers (member_id, tier_id, since, period_ends_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (member_id) DO UPDATE SET "
        "tier_id = excluded.tier_id, since = excluded.since, "
        "period_ends_at = excluded.period_ends_at",
        member_id,
        best.id,
        at,
        period_end(window, at),
    )
    return best


async def recalculate(now: datetime) -> int:
    """At the end of each member's qualification period, re-evaluate the period that ended."""
    tiers = await _tiers()
    changed = 0
    due = await MemberTier.filter(period_ends_at__lte=now).select_related("tier")
    for row in due:
        window = (
            row.tier.window if row.tier else (tiers[0].window if tiers else TierWindow.LIFETIME)
        )
        basis = row.tier.basis if row.tier else (tiers[0].basis if tiers else TierBasis.POINTS)
        end = row.period_ends_at
        assert end is not None
        start = (
            _year_start(end - timedelta(days=1))
            if window == TierWindow.CALENDAR_YEAR
            else end - YEAR
        )
        best = _best(tiers, await qualifying_value(row.member_id, basis, start, end))
        next_end: datetime | None = end
        while next_end is not None and next_end <= now:
            next_end = period_end(window, next_end)
        if (best.id if best else None) != row.tier_id:
            changed += 1
            row.since = end
        row.tier_id = best.id if best else None
        row.period_ends_at = next_end if best else None
        await row.save()
    return changed


@dataclass(frozen=True)
class TierProgress:
    tier: Tier | None
    next_tier: Tier | None
    value: int
    missing: int
    basis: TierBasis | None
    period_ends_at: datetime | None


async def progress(member_id: int, now: datetime | None = None) -> TierProgress:
    """Current tier, the next one, and what is still missing in the current window."""
    now = now or datetime.now(UTC)
    tiers = await _tiers()
    state = await member_tier(member_id)
    if not tiers:
        return TierProgress(None, None, 0, 0, None, None)
    basis, window = tiers[0].basis, tiers[0].window
    value = await qualifying_value(
        member_id, basis, window_start(window, now), now + timedelta(seconds=1)
    )
    floor = state.tier.threshold if state.tier else -1
    higher = [t for t in tiers if t.threshold > floor]
    next_tier = higher[0] if higher else None
    missing = max(0, next_tier.threshold - value) if next_tier else 0
    return TierProgress(state.tier, next_tier, value, missing, basis, state.period_ends_at)
