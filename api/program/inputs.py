"""Programme configuration inputs (admin): each saves itself through its one domain function."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.program.types import ActionType, PeriodType, TierBasisType, TierWindowType
from api.relay import decode_id
from loyalty.money import to_cents
from loyalty.programme import admin
from models import ActionRule, Campaign, EarningRule, Period, Plan, Tier, TierBasis, TierWindow


def _id(type_name: str, value: strawberry.ID | None) -> int | None:
    return decode_id(type_name, value) if value is not None else None


@strawberry.input
class EarningRuleInput:
    name: str
    id: strawberry.ID | None = None
    category: str | None = None
    sku: str | None = None
    multiplier: Decimal | None = None
    points_per_item: int | None = None
    active: bool = True

    async def save(self) -> EarningRule:
        return await admin.save_earning_rule(
            name=self.name,
            category=self.category,
            sku=self.sku,
            multiplier=self.multiplier,
            points_per_item=self.points_per_item,
            active=self.active,
            rule_id=_id("EarningRule", self.id),
        )


@strawberry.input
class CampaignInput:
    name: str
    starts_at: datetime
    ends_at: datetime
    id: strawberry.ID | None = None
    multiplier: Decimal | None = None
    fixed_points: int | None = None
    skus: list[str] | None = None
    categories: list[str] | None = None
    tiers: list[str] | None = None
    active: bool = True
    holdout_percent: int = strawberry.field(
        default=0,
        description="Share of eligible members (0-90, by a stable hash) who do not get the bonus.",
    )

    async def save(self) -> Campaign:
        return await admin.save_campaign(
            name=self.name,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            multiplier=self.multiplier,
            fixed_points=self.fixed_points,
            skus=self.skus,
            categories=self.categories,
            tiers=self.tiers,
            active=self.active,
            campaign_id=_id("Campaign", self.id),
            holdout_percent=self.holdout_percent,
        )


@strawberry.input
class TierInput:
    name: str
    threshold: int
    id: strawberry.ID | None = None
    basis: TierBasisType = TierBasis.POINTS  # type: ignore[valid-type]
    window: TierWindowType = TierWindow.LIFETIME  # type: ignore[valid-type]
    multiplier: Decimal | None = None
    perks: list[str] | None = None
    active: bool = True

    async def save(self) -> Tier:
        return await admin.save_tier(
            name=self.name,
            threshold=self.threshold,
            basis=self.basis,
            window=self.window,
            multiplier=self.multiplier,
            perks=self.perks,
            active=self.active,
            tier_id=_id("Tier", self.id),
        )


@strawberry.input
class ActionRuleInput:
    action: ActionType  # type: ignore[valid-type]
    points: int
    limit: int = 1
    period: PeriodType = Period.LIFETIME  # type: ignore[valid-type]
    active: bool = True

    async def save(self) -> ActionRule:
        return await admin.save_action_rule(
            action=self.action,
            points=self.points,
            limit_count=self.limit,
            period=self.period,
            active=self.active,
        )


@strawberry.input
class PlanInput:
    name: str
    fee: Decimal
    period_days: int
    multiplier: Decimal | None = None
    perks: list[str] | None = None
    active: bool = True

    async def save(self) -> Plan:
        return await admin.save_plan(
            name=self.name,
            fee_cents=to_cents(self.fee, field="fee"),
            period_days=self.period_days,
            multiplier=self.multiplier,
            perks=self.perks,
            active=self.active,
        )


@strawberry.input
class RecordActionInput:
    member_external_id: str
    action: ActionType  # type: ignore[valid-type]
    reference: str
