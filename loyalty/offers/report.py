"""``experimentReport``: per arm members, impressions, click and conversion rates, revenue and
orders per member, and each arm's difference to the control (the first arm) in revenue per
member with a 95% interval (``loyalty.offers.stats``), plus the sample ratio check.

Every member enrolled before the experiment ended is counted in the arm the hash gives it (intent
to treat: a member who never opened the app still counts). Revenue is what orders placed in the
experiment's window came to (subtotal less discount); conversions follow
``loyalty.offers.attribution`` with the configured window.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from loyalty.offers import experiments
from loyalty.offers.attribution import Conversion, Impression, Purchase, attribute
from loyalty.offers.stats import Difference, SampleRatio, compare, sample_ratio
from models import (
    ArmSource,
    Coupon,
    Experiment,
    Member,
    OfferEvent,
    OfferEventKind,
    Order,
    OrderLine,
)


@dataclass(frozen=True)
class ArmSpec:
    """An arm as the summary needs it."""

    name: str
    weight: int
    source: ArmSource
    model_version_id: int | None = None


@dataclass(frozen=True)
class ArmResult:
    arm: ArmSpec
    members: int
    impressions: int
    clicks: int
    conversions: int
    converted_cents: int
    revenue_cents: int
    orders: int
    click_rate: float | None  # clicks per impressed offer
    conversion_rate: float | None  # converted offers per impressed offer
    revenue_per_member: float  # currency units
    orders_per_member: float
    revenue_difference: Difference | None  # versus the control; None for the control


@dataclass(frozen=True)
class ArmsReport:
    arms: list[ArmResult]
    sample_ratio: SampleRatio

    @property
    def warning(self) -> str | None:
        if not self.sample_ratio.mismatch:
            return None
        return (
            f"sample ratio mismatch: arm sizes {[a.members for a in self.arms]} are not what "
            f"the weights give (chi-square {self.sample_ratio.chi_square:.1f}, "
            f"p = {self.sample_ratio.p_value:.2g}); do not trust the differences"
        )


def summarize(
    arms: Sequence[ArmSpec],
    member_arm: Mapping[int, int],
    revenue_cents: Mapping[int, int],
    orders: Mapping[int, int],
    impressions: Iterable[Impression],
    clicked_offers: Iterable[str],
    conversions: Mapping[str, Conversion],
) -> ArmsReport:
    """The per-arm figures from who is in which arm and what they did."""
    impressed: dict[int, set[str]] = defaultdict(set)
    for impression in impressions:
        impressed[member_arm.get(impression.member_id, -1)].add(impression.offer_id)
    offer_arm = {offer: arm for arm, offers in impressed.items() for offer in offers}
    clicks = Counter(offer_arm.get(offer, -1) for offer in set(clicked_offers))
    converted: Counter[int] = Counter()
    converted_cents: Counter[int] = Counter()
    for conversion in conversions.values():
        index = member_arm.get(conversion.member_id, -1)
        converted[index] += 1
        converted_cents[index] += conversion.cents
    members: dict[int, list[int]] = defaultdict(list)
    for member, index in member_arm.items():
        members[index].append(member)
    per_member = {
        i: np.array([revenue_cents.get(m, 0) / 100 for m in members[i]], dtype=float)
        for i in range(len(arms))
    }
    results = []
    for i, arm in enumerate(arms):
        shown = len(impressed[i])
        size = len(members[i])
        results.append(
            ArmResult(
                arm=arm,
                members=size,
                impressions=shown,
                clicks=clicks[i],
                conversions=converted[i],
                converted_cents=converted_cents[i],
                revenue_cents=sum(revenue_cents.get(m, 0) for m in members[i]),
                orders=sum(orders.get(m, 0) for m in members[i]),
                click_rate=clicks[i] / shown if shown else None,
                conversion_rate=converted[i] / shown if shown else None,
                revenue_per_member=float(per_member[i].mean()) if size else 0.0,
                orders_per_member=sum(orders.get(m, 0) for m in members[i]) / size if size else 0,
                revenue_difference=None if i == 0 else compare(per_member[0], per_member[i]),
            )
        )
    ratio = sample_ratio([r.members for r in results], [a.weight for a in arms])
    return ArmsReport(results, ratio)


@dataclass(frozen=True)
class ExperimentReport:
    experiment: Experiment
    attribution_days: int
    report: ArmsReport


async def experiment_report(
    experiment_id: int, attribution_days: int, now: datetime | None = None
) -> ExperimentReport:
    """The report of one experiment, over its window so far."""
    now = now or datetime.now(UTC)
    experiment = await experiments.get(experiment_id)
    arms = await experiments.arms_of(experiment_id)
    specs = [ArmSpec(a.name, a.weight, a.source, a.model_version_id) for a in arms]
    weights = [a.weight for a in arms]
    start, end = experiment.starts_at, min(experiment.ends_at, now)
    window = timedelta(days=attribution_days)
    enrolled = await Member.filter(created_at__lt=experiment.ends_at).values_list("id")
    member_arm = {m: experiments.arm_index(experiment_id, m, weights) for (m,) in enrolled}
    revenue: Counter[int] = Counter()
    orders: Counter[int] = Counter()
    for member, subtotal, discount in await Order.filter(
        placed_at__gte=start, placed_at__lt=end
    ).values_list("member_id", "subtotal_cents", "discount_cents"):
        revenue[member] += subtotal - discount
        orders[member] += 1
    events = await OfferEvent.filter(at__gte=start, at__lt=end).values_list(
        "offer_id", "member_id", "kind", "item_kind", "item_id", "at"
    )
    impressions = [
        Impression(offer, member, item_kind, item_id, at)
        for offer, member, kind, item_kind, item_id, at in events
        if kind == OfferEventKind.IMPRESSION
    ]
    clicked = [offer for offer, _, kind, *_ in events if kind == OfferEventKind.CLICK]
    conversions = attribute(
        impressions,
        await _purchases({i.member_id for i in impressions}, start, end + window),
        window,
    )
    return ExperimentReport(
        experiment,
        attribution_days,
        summarize(specs, member_arm, revenue, orders, impressions, clicked, conversions),
    )


async def _purchases(members: set[int], start: datetime, end: datetime) -> list[Purchase]:
    """The offered members' order lines and coupons between ``start`` and ``end``."""
    if not members:
        return []
    lines = await OrderLine.filter(
        order__member_id__in=members, order__placed_at__gte=start, order__placed_at__lt=end
    ).values_list("order__member_id", "product_id", "order__placed_at", "line_total_cents")
    coupons = await Coupon.filter(
        member_id__in=members, created_at__gte=start, created_at__lt=end
    ).values_list("member_id", "reward_id", "created_at")
    return [
        *(Purchase(m, "P", p, at, cents) for m, p, at, cents in lines),
        *(Purchase(m, "R", r, at, 0) for m, r, at in coupons),
    ]
