"""``campaignReport``: what a campaign added, measured against the members it held out.

Eligible members are those enrolled before the campaign ended (and, for a campaign limited to
tiers, holding one of them now); ``loyalty.assignment.held_out`` splits them as the earning rules
did. Per group: members, orders, revenue (subtotal less discount) and points awarded on orders
placed in the campaign's window. Incremental = (per-member mean of the treated minus that of the
held-out) x treated members, with the 95% interval of ``loyalty.offers.stats.compare`` scaled the
same way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from loyalty.assignment import held_out
from loyalty.errors import NotFound
from loyalty.offers.stats import Difference, compare
from models import Campaign, Member, MemberTier, Order


@dataclass(frozen=True)
class Group:
    members: int
    orders: int
    revenue_cents: int
    points: int


@dataclass(frozen=True)
class Incremental:
    """Treated minus held-out per member, times the treated members, with its interval."""

    total: float
    low: float
    high: float
    per_member: Difference


@dataclass(frozen=True)
class CampaignReport:
    campaign: Campaign
    treated: Group
    holdout: Group
    incremental_revenue: Incremental | None  # currency units; None without two per group
    incremental_points: Incremental | None


async def campaign_report(campaign_id: int, now: datetime | None = None) -> CampaignReport:
    """The campaign's groups and what it added over its window so far."""
    now = now or datetime.now(UTC)
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise NotFound("no such campaign", field="id")
    start, end = campaign.starts_at, min(campaign.ends_at, now)
    enrolled = await Member.filter(created_at__lt=campaign.ends_at).values_list("id")
    members: set[int] = {m for (m,) in enrolled}
    if campaign.tiers:
        in_tiers = await MemberTier.filter(tier__name__in=campaign.tiers).values_list("member_id")
        members &= {m for (m,) in in_tiers}
    revenue: Counter[int] = Counter()
    points: Counter[int] = Counter()
    orders: Counter[int] = Counter()
    for member, subtotal, discount, awarded in await Order.filter(
        placed_at__gte=start, placed_at__lt=end, member_id__in=members
    ).values_list("member_id", "subtotal_cents", "discount_cents", "points_awarded"):
        revenue[member] += subtotal - discount
        points[member] += awarded
        orders[member] += 1
    out = {m for m in members if held_out(campaign.id, m, campaign.holdout_percent)}
    treated = sorted(members - out)
    held = sorted(out)

    def group(ids: list[int]) -> Group:
        return Group(
            len(ids),
            sum(orders[m] for m in ids),
            sum(revenue[m] for m in ids),
            sum(points[m] for m in ids),
        )

    def incremental(values: Counter[int], scale: float) -> Incremental | None:
        a = np.array([values[m] * scale for m in held], dtype=float)
        b = np.array([values[m] * scale for m in treated], dtype=float)
        d = compare(a, b)
        if d is None:
            return None
        n = len(treated)
        return Incremental(d.difference * n, d.low * n, d.high * n, d)

    return CampaignReport(
        campaign,
        group(treated),
        group(held),
        incremental(revenue, 0.01),
        incremental(points, 1.0),
    )
