"""program: the active configuration, public."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from api.context import Info
from api.program.types import ActionRule, Campaign, Cap, EarningRule, Plan, Program, Tier
from models import ActionRule as ActionRuleRow
from models import Campaign as CampaignRow
from models import EarningCap
from models import EarningRule as EarningRuleRow
from models import Plan as PlanRow
from models import Tier as TierRow


@strawberry.type
class ProgramQuery:
    @strawberry.field(description="The programme's active configuration.")
    async def program(self, info: Info) -> Program:
        s = info.context.settings
        now = datetime.now(UTC)
        base = EarningRule(
            id=None,
            name="base",
            description=(
                f"{s.points_per_unit} {s.points_name} per {s.currency} of the subtotal "
                "after discounts, shipping excluded, rounded down"
            ),
        )
        rules = await EarningRuleRow.filter(active=True).order_by("id")
        return Program(
            name=s.program_name,
            points_name=s.points_name,
            currency=s.currency,
            points_per_currency_unit=s.points_per_unit,
            point_value=s.point_value,
            tiers=[
                Tier.from_row(t) for t in await TierRow.filter(active=True).order_by("threshold")
            ],
            earning_rules=[base, *(EarningRule.from_row(r) for r in rules)],
            campaigns=[
                Campaign.from_row(c)
                for c in await CampaignRow.filter(active=True, ends_at__gt=now).order_by(
                    "starts_at"
                )
            ],
            action_rules=[
                ActionRule.from_row(a)
                for a in await ActionRuleRow.filter(active=True).order_by("id")
            ],
            plans=[Plan.from_row(p) for p in await PlanRow.filter(active=True).order_by("id")],
            caps=[Cap(period=c.period, max_points=c.max_points) for c in await EarningCap.all()],
        )
