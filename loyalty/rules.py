"""Programme configuration (earning rules, campaigns, caps, action rules, tiers, plans) and the
earning context an order is computed in. Bad configuration is refused with a clear error.

Every process keeps a copy of the configuration orders need (``program_config``) and reads it
again when the version token in ``program_versions`` changes; each save here writes a new one.
A change made with SQL past these functions is seen after the next save.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.earning import BASE, Bonus, EarningContext, Line
from loyalty.errors import ErrorCode, InvalidInput, NotFound
from loyalty.limits import MAX_POINTS
from models import (
    ActionRule,
    Campaign,
    EarningCap,
    EarningRule,
    MemberTier,
    Period,
    Plan,
    Product,
    Subscription,
    Tier,
)

MAX_MULTIPLIER = Decimal(100)


def period_start(period: Period, at: datetime) -> datetime | None:
    """Start of the calendar period containing ``at`` (UTC); None for lifetime."""
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == Period.DAY:
        return day
    if period == Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period == Period.MONTH:
        return day.replace(day=1)
    if period == Period.YEAR:
        return day.replace(month=1, day=1)
    return None


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
    if not name or len(name) > 255:
        raise InvalidInput("name must be 1 to 255 characters", field="name")
    if (category is None) == (sku is None):
        raise InvalidInput("give either a category or a sku", field="category")
    if (category and len(category) > 128) or (sku and len(sku) > 64):
        raise InvalidInput("category (128) or sku (64) is too long", field="category")
    mult = _multiplier(multiplier)
    per_item = _points(points_per_item, "pointsPerItem")
    if mult == 1 and per_item == 0:
        raise InvalidInput("a rule needs a multiplier or points per item", field="multiplier")
    await _known_category(category)
    rule = await EarningRule.get_or_none(id=rule_id) if rule_id else EarningRule()
    if rule is None:
        raise NotFound("earning rule not found", field="id")
    rule.update_from_dict(
        {
            "name": name,
            "category": category,
            "sku": sku,
            "multiplier": mult,
            "points_per_item": per_item,
            "active": active,
        }
    )
    await rule.save()
    await config_changed()
    return rule


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
) -> Campaign:
    """Create or update a time-boxed campaign."""
    if not name or len(name) > 255:
        raise InvalidInput("name must be 1 to 255 characters", field="name")
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
    campaign = await Campaign.get_or_none(id=campaign_id) if campaign_id else Campaign()
    if campaign is None:
        raise NotFound("campaign not found", field="id")
    campaign.update_from_dict(
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
        }
    )
    await campaign.save()
    await config_changed()
    return campaign


async def set_cap(period: Period, max_points: int | None) -> EarningCap | None:
    """Set (or with None remove) the cap on order points per order or per period."""
    if max_points is None:
        await EarningCap.filter(period=period).delete()
        await config_changed()
        return None
    _points(max_points, "maxPoints", allow_zero=False)
    cap, _ = await EarningCap.get_or_create(period=period, defaults={"max_points": max_points})
    cap.max_points = max_points
    await cap.save()
    await config_changed()
    return cap


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
    rule.update_from_dict(
        {"points": points, "limit_count": limit_count, "period": period, "active": active}
    )
    await rule.save()
    await config_changed()
    return rule


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
    if not name or len(name) > 64:
        raise InvalidInput("name must be 1 to 64 characters", field="name")
    if threshold < 0:
        raise InvalidInput("threshold must be zero or more", field="threshold")
    if await Tier.filter(name=name).exclude(id=tier_id or 0).exists():
        raise InvalidInput("another tier has this name", field="name")
    others = await Tier.filter(active=True).exclude(id=tier_id or 0)
    if any(t.threshold == threshold for t in others):
        raise InvalidInput("another tier has this threshold", field="threshold")
    if any(t.basis != basis or t.window != window for t in others):
        raise InvalidInput("all tiers must share the same basis and window", field="basis")
    tier = await Tier.get_or_none(id=tier_id) if tier_id else Tier()
    if tier is None:
        raise NotFound("tier not found", field="id")
    tier.update_from_dict(
        {
            "name": name,
            "threshold": threshold,
            "basis": basis,
            "window": window,
            "multiplier": _multiplier(multiplier),
            "perks": perks or [],
            "active": active,
        }
    )
    await tier.save()
    await config_changed()
    return tier


async def save_plan(
    *,
    name: str,
    fee_cents: int,
    period_days: int,
    multiplier: Decimal | None = None,
    perks: list[str] | None = None,
    active: bool = True,
) -> Plan:
    if not name or len(name) > 128:
        raise InvalidInput("name must be 1 to 128 characters", field="name")
    if period_days < 1:
        raise InvalidInput("periodDays must be at least 1", field="periodDays")
    plan, _ = await Plan.get_or_create(
        name=name, defaults={"fee_cents": fee_cents, "period_days": period_days}
    )
    plan.update_from_dict(
        {
            "fee_cents": fee_cents,
            "period_days": period_days,
            "multiplier": _multiplier(multiplier),
            "perks": perks or [],
            "active": active,
        }
    )
    await plan.save()
    await config_changed()
    return plan


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
class TierState:
    tier: Tier | None
    period_ends_at: datetime | None


async def member_tier(member_id: int, conn: BaseDBAsyncClient | None = None) -> TierState:
    """The member's active tier (from the programme's configuration) and its period end."""
    conn = conn or db.connection()
    rows = await db.fetch(
        conn, "SELECT tier_id, period_ends_at FROM member_tiers WHERE member_id = $1", member_id
    )
    if not rows:
        return TierState(None, None)
    ends_at = _PERIOD_END.to_python_value(rows[0]["period_ends_at"])
    if rows[0]["tier_id"] is None:
        return TierState(None, ends_at)
    config = await program_config(conn)
    return TierState(config.tier(rows[0]["tier_id"]), ends_at)


@dataclass(frozen=True)
class CampaignRule:
    """A campaign as orders see it: its window, the tiers it is limited to, and its bonus."""

    starts_at: datetime
    ends_at: datetime
    tiers: frozenset[str]
    bonus: Bonus


@dataclass(frozen=True)
class ProgramConfig:
    """What every order is computed with, read once and shared while it does not change."""

    rules: tuple[Bonus, ...]
    campaigns: tuple[CampaignRule, ...]
    caps: tuple[tuple[Period, int], ...]
    tiers: tuple[Tier, ...]  # active tiers by threshold
    has_plans: bool

    def tier(self, tier_id: int | None) -> Tier | None:
        return next((t for t in self.tiers if t.id == tier_id), None)


_PERIOD_END = MemberTier._meta.fields_map["period_ends_at"]
_configs: dict[tuple[int, int | None], ProgramConfig] = {}
TOKEN_SQL = "SELECT token FROM program_versions WHERE id = 1"


async def program_config(conn: BaseDBAsyncClient | None = None) -> ProgramConfig:
    """The active rules, campaigns, caps and tiers (this process's copy while it is current)."""
    conn = conn or db.connection()
    rows = await db.fetch(conn, TOKEN_SQL)
    return await config_for(conn, rows[0]["token"] if rows else None)


async def config_for(conn: BaseDBAsyncClient, token: int | None) -> ProgramConfig:
    """The configuration under this version token, read (and kept) when it is not at hand.

    The token changes with every save of the configuration (``config_changed``), in every
    process, so a copy is never used after the change was committed.
    """
    key = (db.generation(), token)
    config = _configs.get(key)
    if config is None:
        config = await _read_config(conn)
        _configs.clear()
        _configs[key] = config
    return config


async def _read_config(conn: BaseDBAsyncClient) -> ProgramConfig:
    rules = await EarningRule.filter(active=True).using_db(conn)
    campaigns = await Campaign.filter(active=True).using_db(conn)
    caps = await EarningCap.all().using_db(conn)
    tiers = await Tier.filter(active=True).order_by("threshold").using_db(conn)
    return ProgramConfig(
        rules=tuple(
            Bonus(
                r.name,
                Decimal(r.multiplier),
                r.points_per_item,
                frozenset([r.sku]) if r.sku else frozenset(),
                frozenset([r.category]) if r.category else frozenset(),
            )
            for r in rules
        ),
        campaigns=tuple(
            CampaignRule(
                c.starts_at,
                c.ends_at,
                frozenset(c.tiers),
                Bonus(
                    c.name,
                    Decimal(c.multiplier),
                    0,
                    frozenset(c.skus),
                    frozenset(c.categories),
                    c.fixed_points,
                ),
            )
            for c in campaigns
        ),
        caps=tuple((cap.period, cap.max_points) for cap in caps),
        tiers=tuple(tiers),
        has_plans=await Plan.filter(active=True).using_db(conn).exists(),
    )


async def config_changed() -> None:
    """A new version token: every process reads the configuration again on its next order."""
    conn = db.connection()
    await db.execute(
        conn,
        "INSERT INTO program_versions (id, token) VALUES (1, $1) "
        "ON CONFLICT (id) DO UPDATE SET token = excluded.token",
        secrets.randbits(62),
    )
    _configs.clear()


async def earning_context(
    member_id: int | None,
    lines: list[Line],
    at: datetime,
    conn: BaseDBAsyncClient | None = None,
    *,
    config: ProgramConfig | None = None,
    categories: dict[str, str | None] | None = None,
) -> EarningContext:
    """The rules in force at ``at`` for this member (or an anonymous cart).

    ``categories`` (category by sku of the lines) saves a query when the caller has them.
    """
    conn = conn or db.connection()
    config = config or await program_config(conn)
    campaigns = [c for c in config.campaigns if c.starts_at <= at < c.ends_at]
    if not config.rules and not campaigns and not config.caps and member_id is None:
        return BASE
    if categories is None:
        skus = sorted({line.sku for line in lines})
        categories = dict(
            await Product.filter(sku__in=skus).using_db(conn).values_list("sku", "category")
        )
    tier = None
    if member_id is not None and config.tiers:
        rows = await db.fetch(
            conn, "SELECT tier_id FROM member_tiers WHERE member_id = $1", member_id
        )
        tier = config.tier(rows[0]["tier_id"]) if rows else None
    plan_name, plan_multiplier = None, Decimal(1)
    if member_id is not None and config.has_plans:
        rows = await db.fetch(
            conn,
            "SELECT p.name, p.multiplier, p.active FROM subscriptions s "
            "JOIN plans p ON p.id = s.plan_id "
            "WHERE s.member_id = $1 AND s.starts_at <= $2 AND s.ends_at > $2 "
            "ORDER BY s.id DESC LIMIT 1",
            member_id,
            at,
        )
        if rows and rows[0]["active"]:
            plan_name, plan_multiplier = rows[0]["name"], Decimal(str(rows[0]["multiplier"]))
    tier_name = tier.name if tier else None
    cap_left = None
    for period, max_points in config.caps:
        left = max_points
        if period != Period.ORDER and member_id is not None:
            start = period_start(period, at)
            query = (
                "SELECT COALESCE(SUM(points_awarded), 0) AS total FROM orders WHERE member_id = $1"
            )
            args: list[Any] = [member_id]
            if start is not None:
                query += " AND placed_at >= $2"
                args.append(start)
            rows = await db.fetch(conn, query, *args)
            left -= int(rows[0]["total"])
        cap_left = left if cap_left is None else min(cap_left, left)
    return EarningContext(
        rules=config.rules,
        campaigns=tuple(c.bonus for c in campaigns if not c.tiers or tier_name in c.tiers),
        tier_id=tier.id if tier else None,
        tier_name=tier_name,
        tier_multiplier=Decimal(tier.multiplier) if tier else Decimal(1),
        plan_name=plan_name,
        plan_multiplier=plan_multiplier,
        categories=categories,
        cap_left=None if cap_left is None else max(0, cap_left),
    )
