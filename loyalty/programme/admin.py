"""Changing the programme: earning rules, campaigns, caps, action rules, tiers, paid plans and
subscriptions. Bad configuration is refused with a clear error; every save writes a new
configuration version (``config.config_changed``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from tortoise.models import Model

from loyalty.errors import ErrorCode, InvalidInput, NotFound
from loyalty.limits import MAX_POINTS
from loyalty.privacy import audit
from loyalty.programme.config import config_changed
from models import (
    ActionRule,
    Campaign,
    EarningCap,
    EarningRule,
    Period,
    Plan,
    Product,
    Subscription,
    Tier,
)

MAX_MULTIPLIER = Decimal(100)
# A campaign keeps at least a tenth of its members; a holdout is a sample, not the campaign.
MAX_HOLDOUT_PERCENT = 90
M = TypeVar("M", bound=Model)


def _multiplier(value: Decimal | None, name: str = "multiplier") -> Decimal:
    value = Decimal(1) if value is None else Decimal(value)
    if not Decimal(0) < value <= MAX_MULTIPLIER:
        raise InvalidInput(f"{name} must be above 0 and at most {MAX_MULTIPLIER}", field=name)
    return value


def _points(value: int | None, name: str, *, allow_zero: bool = True) -> int:
    value = 0 if value is None else value
    if value < 0 or (value == 0 and not allow_zero) or value > MAX_POINTS:
        raise InvalidInput(
            f"{name} must be {'zero or more' if allow_zero else 'positive'}"
            f" and at most {MAX_POINTS}",
            field=name,
        )
    return value


def _name(name: str, limit: int) -> str:
    if not name or len(name) > limit:
        raise InvalidInput(f"name must be 1 to {limit} characters", field="name")
    return name


async def _saved(record: M | None, what: str, values: dict[str, Any]) -> M:
    """Write ``values`` onto a new or found configuration row and publish a new configuration
    version, so every process reads the change on its next order."""
    if record is None:
        raise NotFound(f"{what} not found", field="id")
    before = audit.snapshot(record)
    record.update_from_dict(values)
    await record.save()
    audit.saved(record, before)
    await config_changed()
    return record


async def _by_id(model: type[M], record_id: int | None) -> M | None:
    """The row to update, or a new one when no id is given (None: no such row)."""
    return await model.get_or_none(id=record_id) if record_id else model()


async def _known_category(category: str | None, field: str = "category") -> str | None:
    if category is None:
        return None
    if not await Product.exists(category=category):
        raise InvalidInput(f"unknown category {category!r}", field=field)
    return category


async def save_earning_rule(
    *,
    name: str,
    category: str | None = None,
    sku: str | None = None,
    multiplier: Decimal | None = None,
    points_per_item: int | None = None,
    active: bool = True,
    rule_id: int | None = None,
) -> EarningRule:
    """Create or update a category/product bonus rule."""
    _name(name, 255)
    if (category is None) == (sku is None):
        raise InvalidInput("give either a category or a sku", field="category")
    if (category and len(category) > 128) or (sku and len(sku) > 64):
        raise InvalidInput("category (128) or sku (64) is too long", field="category")
    mult = _multiplier(multiplier)
    per_item = _points(points_per_item, "pointsPerItem")
    if mult == 1 and per_item == 0:
        raise InvalidInput("a rule needs a multiplier or points per item", field="multiplier")
    await _known_category(category)
    return await _saved(
        await _by_id(EarningRule, rule_id),
        "earning rule",
        {
            "name": name,
            "category": category,
            "sku": sku,
            "multiplier": mult,
            "points_per_item": per_item,
            "active": active,
        },
    )


async def save_campaign(
    *,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    multiplier: Decimal | None = None,
    fixed_points: int | None = None,
    skus: list[str] | None = None,
    categories: list[str] | None = None,
    tiers: list[str] | None = None,
    active: bool = True,
    campaign_id: int | None = None,
    holdout_percent: int = 0,
) -> Campaign:
    """Create or update a time-boxed campaign; ``holdout_percent`` of eligible members (by a
    stable hash) do not get its bonus, so its report can tell what it added."""
    _name(name, 255)
    if ends_at <= starts_at:
        raise InvalidInput("endsAt must be after startsAt", field="endsAt")
    mult = _multiplier(multiplier)
    fixed = _points(fixed_points, "fixedPoints")
    if mult == 1 and fixed == 0:
        raise InvalidInput("a campaign needs a multiplier or fixed points", field="multiplier")
    for category in categories or []:
        await _known_category(category, "categories")
    for tier in tiers or []:
        if not await Tier.exists(name=tier):
            raise InvalidInput(f"unknown tier {tier!r}", field="tiers")
    if not 0 <= holdout_percent <= MAX_HOLDOUT_PERCENT:
        raise InvalidInput(
            f"holdoutPercent must be 0 to {MAX_HOLDOUT_PERCENT}", field="holdoutPercent"
        )
    return await _saved(
        await _by_id(Campaign, campaign_id),
        "campaign",
        {
            "name": name,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "multiplier": mult,
            "fixed_points": fixed,
            "skus": skus or [],
            "categories": categories or [],
            "tiers": tiers or [],
            "active": active,
            "holdout_percent": holdout_percent,
        },
    )


async def set_cap(period: Period, max_points: int | None) -> EarningCap | None:
    """Set (or with None remove) the cap on order points per order or per period."""
    if max_points is None:
        removed = await EarningCap.get_or_none(period=period)
        if removed is not None:
            audit.changed(audit.target(removed), audit.snapshot(removed), {"max_points": None})
        await EarningCap.filter(period=period).delete()
        await config_changed()
        return None
    _points(max_points, "maxPoints", allow_zero=False)
    cap, _ = await EarningCap.get_or_create(period=period, defaults={"max_points": max_points})
    return await _saved(cap, "cap", {"max_points": max_points})


async def save_action_rule(
    *,
    action: Any,
    points: int,
    limit_count: int = 1,
    period: Period = Period.LIFETIME,
    active: bool = True,
) -> ActionRule:
    """Create or replace the rule of one action."""
    _points(points, "points", allow_zero=False)
    if limit_count < 1:
        raise InvalidInput("limit must be at least 1", field="limit")
    if period == Period.ORDER:
        raise InvalidInput(
            "actions are limited per day, week, month, year or lifetime", field="period"
        )
    rule, _ = await ActionRule.get_or_create(action=action, defaults={"points": points})
    return await _saved(
        rule,
        "action rule",
        {"points": points, "limit_count": limit_count, "period": period, "active": active},
    )


async def save_tier(
    *,
    name: str,
    threshold: int,
    basis: Any,
    window: Any,
    multiplier: Decimal | None = None,
    perks: list[str] | None = None,
    active: bool = True,
    tier_id: int | None = None,
) -> Tier:
    """Create or update a tier; thresholds must differ and all tiers share basis and window."""
    _name(name, 64)
    if threshold < 0:
        raise InvalidInput("threshold must be zero or more", field="threshold")
    if await Tier.filter(name=name).exclude(id=tier_id or 0).exists():
        raise InvalidInput("another tier has this name", field="name")
    others = await Tier.filter(active=True).exclude(id=tier_id or 0)
    if any(t.threshold == threshold for t in others):
        raise InvalidInput("another tier has this threshold", field="threshold")
    if any(t.basis != basis or t.window != window for t in others):
        raise InvalidInput("all tiers must share the same basis and window", field="basis")
    return await _saved(
        await _by_id(Tier, tier_id),
        "tier",
        {
            "name": name,
            "threshold": threshold,
            "basis": basis,
            "window": window,
            "multiplier": _multiplier(multiplier),
            "perks": perks or [],
            "active": active,
        },
    )


async def save_plan(
    *,
    name: str,
    fee_cents: int,
    period_days: int,
    multiplier: Decimal | None = None,
    perks: list[str] | None = None,
    active: bool = True,
) -> Plan:
    """Create or update a paid plan (by name)."""
    _name(name, 128)
    if period_days < 1:
        raise InvalidInput("periodDays must be at least 1", field="periodDays")
    plan, _ = await Plan.get_or_create(
        name=name, defaults={"fee_cents": fee_cents, "period_days": period_days}
    )
    return await _saved(
        plan,
        "plan",
        {
            "fee_cents": fee_cents,
            "period_days": period_days,
            "multiplier": _multiplier(multiplier),
            "perks": perks or [],
            "active": active,
        },
    )


async def subscribe(member_id: int, plan_id: int, starts_at: datetime) -> Subscription:
    """Record a paid membership from ``starts_at`` for one plan period."""
    plan = await Plan.get_or_none(id=plan_id, active=True)
    if plan is None:
        raise NotFound("plan not found", field="planId", code=ErrorCode.NOT_FOUND)
    return await Subscription.create(
        member_id=member_id,
        plan_id=plan.id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(days=plan.period_days),
    )


@dataclass(frozen=True)
class Rules:
    """Every rule the merchant has saved, in force or not (the console lists them all)."""

    tiers: list[Tier]
    earning_rules: list[EarningRule]
    campaigns: list[Campaign]
    action_rules: list[ActionRule]
    plans: list[Plan]


async def every_rule() -> Rules:
    """All tiers, earning rules, campaigns (also ended or not yet started), action rules and
    paid plans, active or not: one query per kind."""
    return Rules(
        tiers=await Tier.all().order_by("threshold", "id"),
        earning_rules=await EarningRule.all().order_by("id"),
        campaigns=await Campaign.all().order_by("-starts_at", "-id"),
        action_rules=await ActionRule.all().order_by("action"),
        plans=await Plan.all().order_by("id"),
    )
