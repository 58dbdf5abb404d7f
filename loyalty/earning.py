"""Points an order earns, explained line by line. recordOrder and previewPoints both use it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from loyalty.errors import ErrorCode, InvalidInput
from loyalty.money import to_cents
from loyalty.settings import Settings

MAX_LINES = 500
MAX_QUANTITY = 100_000


@dataclass(frozen=True)
class LineInput:
    """An order line as the shop sends it."""

    sku: str
    quantity: int
    unit_price: Decimal
    name: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Line:
    """A validated line, money in cents."""

    sku: str
    quantity: int
    unit_price_cents: int
    name: str | None
    category: str | None

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
        cents = to_cents(line.unit_price, field=f"lines.{i}.unitPrice")
        checked.append(Line(sku, line.quantity, cents, line.name, line.category))
    return checked


def compute(lines: list[Line], discount_cents: int, settings: Settings) -> PointsBreakdown:
    """Base earning: points per currency unit on the eligible subtotal, rounded down.

    The eligible subtotal is the lines' total less the order discount (shipping never earns).
    The discount is shared over lines in proportion to their totals; the order's points are the
    floor of eligible x rate, shared over lines by largest remainder so the lines add up.
    """
    subtotal = sum(line.total_cents for line in lines)
    if discount_cents > subtotal:
        raise InvalidInput(
            "discount exceeds the order subtotal", field="discount", code=ErrorCode.INVALID_AMOUNT
        )
    eligible = subtotal - discount_cents
    rate = settings.points_per_unit
    points = int((Decimal(eligible) / 100 * rate).to_integral_value(rounding=ROUND_FLOOR))
    shares = _share(eligible, [line.total_cents for line in lines])
    exact = [Decimal(share) / 100 * rate for share in shares]
    line_points = _share(points, [int(e * 1000) for e in exact])
    explained = [
        LinePoints(
            sku=line.sku,
            eligible_cents=share,
            points=pts,
            explanation=f"{share / 100:.2f} x {rate} points per unit",
        )
        for line, share, pts in zip(lines, shares, line_points, strict=True)
    ]
    return PointsBreakdown(points, subtotal, discount_cents, eligible, rate, explained)


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
