"""The programme's configuration as orders read it, cached per process.

Every process keeps a copy of what orders need (``program_config``) and reads it again when the
version token in ``program_versions`` changes; each save in ``admin`` writes a new one. A change
made with SQL past those functions is seen after the next save."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.programme.earning import Bonus
from models import (
    ActionRule,
    Campaign,
    EarningCap,
    EarningRule,
    Experiment,
    ExperimentArm,
    MemberTier,
    Period,
    Plan,
    Tier,
)


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
    id: int = 0
    holdout_percent: int = 0


@dataclass(frozen=True)
class ProgramConfig:
    """What every order is computed with, read once and shared while it does not change."""

    rules: tuple[Bonus, ...]
    campaigns: tuple[CampaignRule, ...]
    caps: tuple[tuple[Period, int], ...]
    tiers: tuple[Tier, ...]  # active tiers by threshold
    has_plans: bool
    # The same configuration as rows, for showing it (the ``program`` query): active earning
    # rules, action rules and plans by id, active campaigns by start.
    earning_rules: tuple[EarningRule, ...]
    campaign_rows: tuple[Campaign, ...]
    action_rules: tuple[ActionRule, ...]
    plans: tuple[Plan, ...]
    # Offer experiments not over when this copy was read, with their arms (control first): the
    # account page finds a member's arm without a statement of its own.
    experiments: tuple[tuple[Experiment, tuple[ExperimentArm, ...]], ...] = ()

    def tier(self, tier_id: int | None) -> Tier | None:
        return next((t for t in self.tiers if t.id == tier_id), None)

    def open_campaigns(self, at: datetime) -> list[Campaign]:
        """Active campaigns not over at ``at`` (running or still to come), by start."""
        return [c for c in self.campaign_rows if c.ends_at > at]


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
    action_rules = await ActionRule.filter(active=True).order_by("id").using_db(conn)
    plans = await Plan.filter(active=True).order_by("id").using_db(conn)
    experiments = (
        await Experiment.filter(ends_at__gt=datetime.now(UTC))
        .order_by("starts_at", "id")
        .using_db(conn)
    )
    arms = (
        await ExperimentArm.filter(experiment_id__in=[e.id for e in experiments])
        .order_by("position")
        .using_db(conn)
    )
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
                c.id,
                c.holdout_percent,
            )
            for c in campaigns
        ),
        caps=tuple((cap.period, cap.max_points) for cap in caps),
        tiers=tuple(tiers),
        has_plans=bool(plans),
        earning_rules=tuple(sorted(rules, key=lambda r: r.id)),
        campaign_rows=tuple(sorted(campaigns, key=lambda c: (c.starts_at, c.id))),
        action_rules=tuple(action_rules),
        plans=tuple(plans),
        experiments=tuple(
            (e, tuple(a for a in arms if a.experiment_id == e.id)) for e in experiments
        ),
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
