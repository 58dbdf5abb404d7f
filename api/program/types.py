"""The programme as storefronts see it."""

from __future__ import annotations

from decimal import Decimal

import strawberry


@strawberry.type
class Tier:
    name: str
    threshold: int
    multiplier: Decimal


@strawberry.type
class EarningRule:
    name: str
    description: str


@strawberry.type
class Program:
    name: str
    points_name: str
    currency: str
    points_per_currency_unit: Decimal
    point_value: Decimal
    tiers: list[Tier]
    earning_rules: list[EarningRule]
