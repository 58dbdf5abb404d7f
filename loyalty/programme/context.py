"""The earning context an order is computed in: the rules, campaigns, tier, plan and cap room in
force for this member at this time."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.assignment import held_out
from loyalty.programme.config import ProgramConfig, period_start, program_config
from loyalty.programme.earning import BASE, EarningContext, Line
from models import (
    Period,
    Product,
)


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
        campaigns=tuple(
            c.bonus
            for c in campaigns
            if (not c.tiers or tier_name in c.tiers)
            and not held_out(c.id, member_id, c.holdout_percent)
        ),
        tier_id=tier.id if tier else None,
        tier_name=tier_name,
        tier_multiplier=Decimal(tier.multiplier) if tier else Decimal(1),
        plan_name=plan_name,
        plan_multiplier=plan_multiplier,
        categories=categories,
        cap_left=None if cap_left is None else max(0, cap_left),
    )
