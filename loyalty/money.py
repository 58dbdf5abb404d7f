"""Money as integer cents: parsing and formatting, exact on every database."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from loyalty.errors import ErrorCode, InvalidInput

CENT = Decimal("0.01")
MAX_CENTS = 10**13


def to_cents(amount: Decimal | int | float | str, *, field: str, allow_zero: bool = True) -> int:
    """Parse a non-negative amount with at most two decimals into cents."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise InvalidInput(
            f"{field} is not a number", field=field, code=ErrorCode.INVALID_AMOUNT
        ) from exc
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(
            f"{field} must be {'zero or more' if allow_zero else 'positive'}",
            field=field,
            code=ErrorCode.INVALID_AMOUNT,
        )
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise InvalidInput(
            f"{field} has more than two decimals", field=field, code=ErrorCode.INVALID_AMOUNT
        )
    cents = int(value * 100)
    if cents >= MAX_CENTS:
        raise InvalidInput(f"{field} is too large", field=field, code=ErrorCode.INVALID_AMOUNT)
    return cents


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)
