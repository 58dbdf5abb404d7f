"""Points an order earns, explained line by line. recordOrder and previewPoints both use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from loyalty.errors import ErrorCode, InvalidInput
from loyalty.limits import (
    MAX_LINES,
    MAX_ORDER_CENTS,
    MAX_POINTS,
    MAX_QUANTITY,
    MAX_UNIT_PRICE_CENTS,
)
from loyalty.money import to_cents
from loyalty.settings import Settings


@dataclass(frozen=True)
class LineInput:
    """An order line as the shop sends it."""

    sku: str
    quantity: int
    unit_price: Decimal
    name: str | None = None
    category: str | None = None
    vendor: str | None = None


@dataclass(frozen=True)
class Line:
    """A validated line, money in cents."""

    sku: str
    quantity: int
    unit_price_cents: int
    name: str | None
    category: str | None
    vendor: str | None = None

    @property
    def total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class LinePoints:
    sku: str
    eligible_cents: int
    points: int
    explanation: str


@dataclass(frozen=True)
class PointsBreakdown:
    """What an order earns and why."""

    points: int
    subtotal_cents: int
    discount_cents: int
    eligible_cents: int
    rate: Decimal
    lines: list[LinePoints]


def validate_lines(lines: list[LineInput]) -> list[Line]:
    """Check lines (sku, positive quantity, non-negative price) and convert them to cents."""
    if not lines:
        raise InvalidInput(
            "an order needs at least one line", field="lines", code=ErrorCode.EMPTY_ORDER
        )
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"at most {MAX_LINES} lines per order", field="lines")
    checked = []
    for i, line in enumerate(lines):
        sku = (line.sku or "").strip()
        if not sku or len(sku) > 64:
            raise InvalidInput("sku must be 1 to 64 characters", field=f"lines.{i}.sku")
        if not isinstance(line.quantity, int) or not 0 < line.quantity <= MAX_QUANTITY:
            raise InvalidInput(
                f"quantity must be between 1 and {MAX_QUANTITY}",
                field=f"lines.{i}.quantity",
                code=ErrorCode.INVALID_QUANTITY,
            )
        if line.name is not None and len(line.name) > 255:
            raise InvalidInput("name is longer than 255 characters", field=f"lines.{i}.name")
        if line.category is not None and len(line.category) > 128:
            raise InvalidInput(
                "category is longer than 128 characters", field=f"lines.{i}.category"
            )
        if line.vendor is not None and len(line.vendor) > 255:
            raise InvalidInput("vendor is longer than 255 characters", field=f"lines.{i}.vendor")
        cents = to_cents(line.unit_price, field=f"lines.{i}.unitPrice")
        if cents > MAX_UNIT_PRICE_CENTS:
            raise InvalidInput(
                f"unitPrice must be at most {MAX_UNIT_PRICE_CENTS // 100}",
                field=f"lines.{i}.unitPrice",
                code=ErrorCode.INVALID_AMOUNT,
            )
        checked.append(Line(sku, line.quantity, cents, line.name, line.category, line.vendor))
    if sum(line.total_cents for line in checked) > MAX_ORDER_CENTS:
        raise InvalidInput(
            f"the lines add up to more than {MAX_ORDER_CENTS // 100}",
            field="lines",
            code=ErrorCode.INVALID_AMOUNT,
        )
    return checked


def order_amount(value: Decimal | int | str, *, field: str) -> int:
    """An order-level amount (discount, shipping) in cents, within the order bound."""
    cents = to_cents(value, field=field)
    if cents > MAX_ORDER_CENTS:
        raise InvalidInput(
            f"{field} must be at most {MAX_ORDER_CENTS // 100}",
            field=field,
            code=ErrorCode.INVALID_AMOUNT,
        )
    return cents


@dataclass(frozen=True)
class Bonus:
    """A multiplier and/or points per item on the lines it matches (empty scope: every line)."""

    name: str
    multiplier: Decimal = Decimal(1)
    points_per_item: int = 0
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    fixed_points: int = 0

    def matches(self, line: Line, category: str | None) -> bool:
        if not self.skus and not self.categories:
            return True
        return line.sku in self.skus or (category is not None and category in self.categories)


@dataclass(frozen=True)
class EarningContext:
    """Everything besides the cart that decides the points: rules, campaigns, tier, plan, caps.

    ``cap_left`` is the fewest points still allowed by any cap (per order or per period), or
    None when no cap applies.
    """

    rules: tuple[Bonus, ...] = ()
    campaigns: tuple[Bonus, ...] = ()
    tier_id: int | None = None
    tier_name: str | None = None
    tier_multiplier: Decimal = Decimal(1)
    plan_name: str | None = None
    plan_multiplier: Decimal = Decimal(1)
    categories: dict[str, str | None] = field(default_factory=dict)
    cap_left: int | None = None


BASE = EarningContext()


def compute(
    lines: list[Line],
    discount_cents: int,
    settings: Settings,
    context: EarningContext = BASE,
) -> PointsBreakdown:
    """Points of an order, explained line by line. recordOrder and previewPoints both call it.

    Each line earns its share of the eligible subtotal (lines less the order discount, shared in
    proportion to line totals; shipping never earns) x points per unit x the tier multiplier x
    the plan multiplier x every matching campaign and bonus-rule multiplier. The order earns the
    floor of the lines' sum, plus points per item of matching rules, plus fixed campaign
    bonuses, then capped. Line points are shared by largest remainder so they add up exactly.
    """
    subtotal = sum(line.total_cents for line in lines)
    if discount_cents > subtotal:
        raise InvalidInput(
            "discount exceeds the order subtotal", field="discount", code=ErrorCode.INVALID_AMOUNT
        )
    eligible = subtotal - discount_cents
    rate = settings.points_per_unit
    shares = _share(eligible, [line.total_cents for line in lines])
    exact: list[Decimal] = []
    extras: list[int] = []
    notes: list[str] = []
    fixed = 0
    for campaign in context.campaigns:
        if campaign.fixed_points and any(
            campaign.matches(line, _category(line, context)) for line in lines
        ):
            fixed += campaign.fixed_points
    for line, share in zip(lines, shares, strict=True):
        category = _category(line, context)
        factor = context.tier_multiplier * context.plan_multiplier
        parts = [f"{share / 100:.2f} x {rate} points per unit"]
        if context.tier_multiplier != 1:
            parts.append(f"x {context.tier_multiplier} ({context.tier_name})")
        if context.plan_multiplier != 1:
            parts.append(f"x {context.plan_multiplier} ({context.plan_name})")
        extra = 0
        for bonus in (*context.campaigns, *context.rules):
            if not bonus.matches(line, category):
                continue
            if bonus.multiplier != 1:
                factor *= bonus.multiplier
                parts.append(f"x {bonus.multiplier} ({bonus.name})")
            if bonus.points_per_item:
                extra += bonus.points_per_item * line.quantity
                parts.append(f"+ {bonus.points_per_item * line.quantity} ({bonus.name})")
        exact.append(Decimal(share) / 100 * rate * factor)
        extras.append(extra)
        notes.append(" ".join(parts))
    points = int(sum(exact, Decimal(0)).to_integral_value(rounding=ROUND_FLOOR)) + sum(extras)
    uncapped = points + fixed
    total = uncapped if context.cap_left is None else max(0, min(uncapped, context.cap_left))
    if total > MAX_POINTS:
        raise InvalidInput(
            f"an order may earn at most {MAX_POINTS} points, this one {total}",
            field="lines",
            code=ErrorCode.POINTS_LIMIT,
        )
    weights = [int(e * 1000) + x * 1000 for e, x in zip(exact, extras, strict=True)]
    line_points = _share(total - min(fixed, total), weights)
    if fixed and total:
        notes = [*notes]
        notes[0] += f"; + {min(fixed, total)} campaign bonus on the order"
        line_points[0] += min(fixed, total)
    if total < uncapped:
        notes = [f"{n}; capped ({uncapped} -> {total} for the order)" for n in notes]
    explained = [
        LinePoints(sku=line.sku, eligible_cents=share, points=pts, explanation=note)
        for line, share, pts, note in zip(lines, shares, line_points, notes, strict=True)
    ]
    return PointsBreakdown(total, subtotal, discount_cents, eligible, rate, explained)


def _category(line: Line, context: EarningContext) -> str | None:
    return line.category or context.categories.get(line.sku)


def _share(total: int, weights: list[int]) -> list[int]:
    """Split an integer total in proportion to weights (largest remainder, exact sum)."""
    weight_sum = sum(weights)
    if weight_sum == 0 or total == 0:
        return [0] * len(weights)
    floors = [total * w // weight_sum for w in weights]
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: -((total * weights[i]) % weight_sum))
    for i in order[:left]:
        floors[i] += 1
    return floors
