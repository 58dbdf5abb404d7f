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
from tortoise.functions import Sum

from loyalty.rules import member_tier
from models import EntryKind, LedgerEntry, MemberTier, Order, Tier, TierBasis, TierWindow

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
    """Spend in cents (net of refunds) or points earned, in ``[start, end)``."""
    orders = Order.filter(member_id=member_id, placed_at__lt=end)
    if start is not None:
        orders = orders.filter(placed_at__gte=start)
    if conn is not None:
        orders = orders.using_db(conn)
    if basis == TierBasis.SPEND:
        rows = await orders.annotate(a=Sum("eligible_cents"), b=Sum("refunded_cents")).values(
            "a", "b"
        )
        return int(rows[0]["a"] or 0) - int(rows[0]["b"] or 0) if rows else 0
    rows = await orders.annotate(a=Sum("points_awarded"), b=Sum("points_reversed")).values("a", "b")
    value = int(rows[0]["a"] or 0) - int(rows[0]["b"] or 0) if rows else 0
    actions = LedgerEntry.filter(
        member_id=member_id, kind=EntryKind.EARN_ACTION, created_at__lt=end
    )
    if start is not None:
        actions = actions.filter(created_at__gte=start)
    if conn is not None:
        actions = actions.using_db(conn)
    rows = await actions.annotate(a=Sum("points")).values("a")
    return value + (int(rows[0]["a"] or 0) if rows else 0)


async def _tiers(conn: BaseDBAsyncClient | None = None) -> list[Tier]:
    query = Tier.filter(active=True).order_by("threshold")
    return await (query.using_db(conn) if conn else query)


def _best(tiers: list[Tier], value: int) -> Tier | None:
    reached = [t for t in tiers if t.threshold <= value]
    return reached[-1] if reached else None


async def upgrade(
    conn: BaseDBAsyncClient,
    member_id: int,
    at: datetime,
    active: Sequence[Tier] | None = None,
) -> Tier | None:
    """Move the member up at once if the current window now qualifies for a higher tier.

    ``active`` are the active tiers by threshold when the caller has them at hand.
    """
    tiers = list(active) if active is not None else await _tiers(conn)
    if not tiers:
        return None
    basis, window = tiers[0].basis, tiers[0].window
    value = await qualifying_value(
        member_id, basis, window_start(window, at), at + timedelta(seconds=1), conn
    )
    best = _best(tiers, value)
    current = (await member_tier(member_id, conn)).tier
    if best is None or (current is not None and best.threshold <= current.threshold):
        return None
    row = await MemberTier.filter(member_id=member_id).using_db(conn).first()
    if row is None:
        await MemberTier.create(
            member_id=member_id,
            tier_id=best.id,
            since=at,
            period_ends_at=period_end(window, at),
            using_db=conn,
        )
    else:
        row.tier_id, row.since, row.period_ends_at = best.id, at, period_end(window, at)
        await row.save(using_db=conn)
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
