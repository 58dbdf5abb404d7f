"""program: the active configuration, public."""

from __future__ import annotations

import strawberry

from api.context import Info
from api.program.types import EarningRule, Program


@strawberry.type
class ProgramQuery:
    @strawberry.field(description="The programme's active configuration.")
    def program(self, info: Info) -> Program:
        s = info.context.settings
        return Program(
            name=s.program_name,
            points_name=s.points_name,
            currency=s.currency,
            points_per_currency_unit=s.points_per_unit,
            point_value=s.point_value,
            tiers=[],
            earning_rules=[
                EarningRule(
                    name="base",
                    description=(
                        f"{s.points_per_unit} {s.points_name} per {s.currency} of the subtotal "
                        "after discounts, shipping excluded, rounded down"
                    ),
                )
            ],
        )
