"""Programme report types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.offers.experiment_types import MeanDifference
from api.relay import encode_id
from api.rewards.types import CauseTotal
from loyalty.money import from_cents
from loyalty.reports.campaigns import CampaignReport, Group, Incremental
from loyalty.reports.summary import Cohort, ProgramReport


@strawberry.type
class CohortMonth:
    months_later: int
    members: int
    share: float


@strawberry.type
class RetentionCohort:
    month: str = strawberry.field(description="Enrolment month, YYYY-MM (UTC).")
    members: int
    retained: int = strawberry.field(description="Members who ordered in a later month.")
    retention: float
    months: list[CohortMonth] = strawberry.field(
        description="Members ordering 1, 2, ... months after their enrolment month."
    )

    @classmethod
    def from_cohort(cls, c: Cohort) -> RetentionCohort:
        return cls(
            month=c.month,
            members=c.members,
            retained=c.retained,
            retention=c.retention,
            months=[
                CohortMonth(months_later=later, members=n, share=n / c.members)
                for later, n in c.months
            ],
        )


@strawberry.type
class TopReward:
    reward_id: strawberry.ID
    name: str
    coupons_issued: int


@strawberry.type
class TierShare:
    tier: str | None = strawberry.field(description="Null: members without a tier.")
    members: int


@strawberry.type(name="ProgramReport")
class ProgramReportType:
    period_start: datetime
    period_end: datetime = strawberry.field(description="Exclusive.")
    members_enrolled: int
    members_total: int
    active_members: int = strawberry.field(description="Members who ordered in the period.")
    orders: int
    revenue: Decimal = strawberry.field(description="Subtotal less discounts and refunds.")
    repeat_customers: int
    repeat_purchase_rate: float | None
    average_order_value: Decimal | None
    purchase_frequency: float | None = strawberry.field(description="Orders per active member.")
    retention: list[RetentionCohort]
    points_issued: int
    points_redeemed: int
    points_expired: int
    redemption_rate: float | None
    breakage: float | None = strawberry.field(description="Expired / issued.")
    points_outstanding: int
    points_liability: Decimal = strawberry.field(
        description="Outstanding points at the end of the period times the point value."
    )
    referees: int
    referees_converted: int
    referral_conversion: float | None
    top_rewards: list[TopReward]
    donations: list[CauseTotal]
    tier_mix: list[TierShare] = strawberry.field(
        description="Members per tier today (not bounded by the period)."
    )

    @classmethod
    def from_report(cls, r: ProgramReport) -> ProgramReportType:
        aov = r.average_order_value_cents
        return cls(
            period_start=r.start,
            period_end=r.end,
            members_enrolled=r.members_enrolled,
            members_total=r.members_total,
            active_members=r.active_members,
            orders=r.orders,
            revenue=from_cents(r.revenue_cents),
            repeat_customers=r.repeat_customers,
            repeat_purchase_rate=r.repeat_purchase_rate,
            average_order_value=from_cents(aov) if aov is not None else None,
            purchase_frequency=r.purchase_frequency,
            retention=[RetentionCohort.from_cohort(c) for c in r.cohorts],
            points_issued=r.points_issued,
            points_redeemed=r.points_redeemed,
            points_expired=r.points_expired,
            redemption_rate=r.redemption_rate,
            breakage=r.breakage,
            points_outstanding=r.points_outstanding,
            points_liability=r.liability,
            referees=r.referees,
            referees_converted=r.referees_converted,
            referral_conversion=r.referral_conversion,
            top_rewards=[
                TopReward(
                    reward_id=strawberry.ID(encode_id("Reward", t.reward_id)),
                    name=t.name,
                    coupons_issued=t.coupons,
                )
                for t in r.top_rewards
            ],
            donations=[CauseTotal.of(d) for d in r.donations],
            tier_mix=[TierShare(tier=name, members=n) for name, n in r.tier_mix],
        )


@strawberry.type
class CampaignGroup:
    members: int
    orders: int
    revenue: Decimal
    points: int


@strawberry.type
class IncrementalFigure:
    """Treated minus held-out per member, times the treated members, with a 95% interval."""

    total: float
    low: float
    high: float
    per_member: MeanDifference

    @classmethod
    def of(cls, figure: Incremental | None) -> IncrementalFigure | None:
        if figure is None:
            return None
        per_member = MeanDifference.of(figure.per_member)
        assert per_member is not None
        return cls(total=figure.total, low=figure.low, high=figure.high, per_member=per_member)


@strawberry.type
class CampaignReportType:
    campaign_id: strawberry.ID
    name: str
    holdout_percent: int
    treated: CampaignGroup
    holdout: CampaignGroup
    incremental_revenue: IncrementalFigure | None
    incremental_points: IncrementalFigure | None

    @classmethod
    def of(cls, report: CampaignReport) -> CampaignReportType:
        def group(g: Group) -> CampaignGroup:
            return CampaignGroup(
                members=g.members,
                orders=g.orders,
                revenue=from_cents(g.revenue_cents),
                points=g.points,
            )

        return cls(
            campaign_id=strawberry.ID(encode_id("Campaign", report.campaign.id)),
            name=report.campaign.name,
            holdout_percent=report.campaign.holdout_percent,
            treated=group(report.treated),
            holdout=group(report.holdout),
            incremental_revenue=IncrementalFigure.of(report.incremental_revenue),
            incremental_points=IncrementalFigure.of(report.incremental_points),
        )
