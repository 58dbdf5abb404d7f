"""The programme as storefronts see it, and its configuration types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.relay import encode_id
from loyalty.programme import admin, tiers
from loyalty.programme.config import ProgramConfig
from loyalty.settings import Settings
from models import Action, Period, TierBasis, TierWindow
from models import ActionRule as ActionRuleRow
from models import Campaign as CampaignRow
from models import EarningRule as EarningRuleRow
from models import Plan as PlanRow
from models import Tier as TierRow

PeriodType = strawberry.enum(Period, name="Period")
TierBasisType = strawberry.enum(TierBasis, name="TierBasis")
TierWindowType = strawberry.enum(TierWindow, name="TierWindow")
ActionType = strawberry.enum(Action, name="Action")


@strawberry.type
class Tier:
    id: strawberry.ID
    name: str
    threshold: int
    basis: TierBasisType  # type: ignore[valid-type]
    window: TierWindowType  # type: ignore[valid-type]
    multiplier: Decimal
    perks: list[str]
    active: bool

    @classmethod
    def from_row(cls, row: TierRow) -> Tier:
        return cls(
            id=strawberry.ID(encode_id("Tier", row.id)),
            name=row.name,
            threshold=row.threshold,
            basis=row.basis,
            window=row.window,
            multiplier=Decimal(row.multiplier),
            perks=list(row.perks),
            active=row.active,
        )


@strawberry.type
class TierProgress:
    tier: Tier | None
    next_tier: Tier | None
    value: int
    missing: int
    basis: TierBasisType | None  # type: ignore[valid-type]
    period_ends_at: datetime | None

    @classmethod
    def of(cls, found: tiers.TierProgress) -> TierProgress:
        return cls(
            tier=Tier.from_row(found.tier) if found.tier else None,
            next_tier=Tier.from_row(found.next_tier) if found.next_tier else None,
            value=found.value,
            missing=found.missing,
            basis=found.basis,
            period_ends_at=found.period_ends_at,
        )


@strawberry.type
class EarningRule:
    id: strawberry.ID | None
    name: str
    description: str
    category: str | None = None
    sku: str | None = None
    multiplier: Decimal = Decimal(1)
    points_per_item: int = 0
    active: bool = True

    @classmethod
    def base(cls, s: Settings) -> EarningRule:
        """What every order earns, before any bonus rule."""
        return cls(
            id=None,
            name="base",
            description=(
                f"{s.points_per_unit} {s.points_name} per {s.currency} of the subtotal "
                "after discounts, shipping excluded, rounded down"
            ),
        )

    @classmethod
    def from_row(cls, row: EarningRuleRow) -> EarningRule:
        target = f"category {row.category}" if row.category else f"sku {row.sku}"
        parts = []
        if Decimal(row.multiplier) != 1:
            parts.append(f"x {row.multiplier}")
        if row.points_per_item:
            parts.append(f"+ {row.points_per_item} per item")
        return cls(
            id=strawberry.ID(encode_id("EarningRule", row.id)),
            name=row.name,
            description=f"{' '.join(parts)} on {target}",
            category=row.category,
            sku=row.sku,
            multiplier=Decimal(row.multiplier),
            points_per_item=row.points_per_item,
            active=row.active,
        )


@strawberry.type
class Campaign:
    id: strawberry.ID
    name: str
    starts_at: datetime
    ends_at: datetime
    multiplier: Decimal
    fixed_points: int
    skus: list[str]
    categories: list[str]
    tiers: list[str]
    active: bool
    holdout_percent: int

    @classmethod
    def from_row(cls, row: CampaignRow) -> Campaign:
        return cls(
            id=strawberry.ID(encode_id("Campaign", row.id)),
            name=row.name,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            multiplier=Decimal(row.multiplier),
            fixed_points=row.fixed_points,
            skus=list(row.skus),
            categories=list(row.categories),
            tiers=list(row.tiers),
            active=row.active,
            holdout_percent=row.holdout_percent,
        )


@strawberry.type
class ActionRule:
    action: ActionType  # type: ignore[valid-type]
    points: int
    limit: int
    period: PeriodType  # type: ignore[valid-type]
    active: bool

    @classmethod
    def from_row(cls, row: ActionRuleRow) -> ActionRule:
        return cls(
            action=row.action,
            points=row.points,
            limit=row.limit_count,
            period=row.period,
            active=row.active,
        )


@strawberry.type
class Plan:
    id: strawberry.ID
    name: str
    fee: Decimal
    period_days: int
    multiplier: Decimal
    perks: list[str]
    active: bool

    @classmethod
    def from_row(cls, row: PlanRow) -> Plan:
        return cls(
            id=strawberry.ID(encode_id("Plan", row.id)),
            name=row.name,
            fee=(Decimal(row.fee_cents) / 100).quantize(Decimal("0.01")),
            period_days=row.period_days,
            multiplier=Decimal(row.multiplier),
            perks=list(row.perks),
            active=row.active,
        )


@strawberry.type
class Cap:
    period: PeriodType  # type: ignore[valid-type]
    max_points: int


@strawberry.type
class Program:
    name: str
    points_name: str
    currency: str
    points_per_currency_unit: Decimal
    point_value: Decimal
    tiers: list[Tier]
    earning_rules: list[EarningRule]
    campaigns: list[Campaign]
    action_rules: list[ActionRule]
    plans: list[Plan]
    caps: list[Cap]

    @classmethod
    def of(cls, s: Settings, config: ProgramConfig, now: datetime) -> Program:
        """The programme from its settings and cached configuration (no query of its own)."""
        return cls(
            name=s.program_name,
            points_name=s.points_name,
            currency=s.currency,
            points_per_currency_unit=s.points_per_unit,
            point_value=s.point_value,
            tiers=[Tier.from_row(t) for t in config.tiers],
            earning_rules=[
                EarningRule.base(s),
                *(EarningRule.from_row(r) for r in config.earning_rules),
            ],
            campaigns=[Campaign.from_row(c) for c in config.open_campaigns(now)],
            action_rules=[ActionRule.from_row(a) for a in config.action_rules],
            plans=[Plan.from_row(p) for p in config.plans],
            caps=[Cap(period=period, max_points=most) for period, most in config.caps],
        )


@strawberry.type
class ProgramRules:
    """Every saved rule, in force or not: what the merchant can edit and turn back on."""

    tiers: list[Tier]
    earning_rules: list[EarningRule]
    campaigns: list[Campaign] = strawberry.field(description="Also ended or not yet started.")
    action_rules: list[ActionRule]
    plans: list[Plan]

    @classmethod
    def of(cls, rules: admin.Rules) -> ProgramRules:
        return cls(
            tiers=[Tier.from_row(t) for t in rules.tiers],
            earning_rules=[EarningRule.from_row(r) for r in rules.earning_rules],
            campaigns=[Campaign.from_row(c) for c in rules.campaigns],
            action_rules=[ActionRule.from_row(a) for a in rules.action_rules],
            plans=[Plan.from_row(p) for p in rules.plans],
        )
