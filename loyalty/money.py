"""Money as integer cents: parsing and formatting, exact on every database."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from loyalty.errors import ErrorCode, InvalidInput

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(10**12)


def to_cents(amount: Decimal | int | float | str, *, field: str, allow_zero: bool = True) -> int:
    """Parse a non-negative amount with at most two decimals into cents.

    Anything else is an ``InvalidInput`` (``INVALID_AMOUNT``) naming ``field``: text that is not
    a number, NaN and the infinities, and any amount above MAX_AMOUNT, 10^12 currency units
    (1,000,000,000,000.00), which keeps the arithmetic inside Decimal's 28 digits.
    """
    try:
        if isinstance(amount, bool):
            raise InvalidOperation  # True is an int to Python, not an amount
        # A float by its shortest repr (0.1, not its binary expansion); the rest exactly.
        value = Decimal(str(amount)) if isinstance(amount, float | str) else Decimal(amount)
    except (InvalidOperation, ValueError) as exc:
        raise _invalid(f"{field} is not a number", field) from exc
    if not value.is_finite():
        raise _invalid(f"{field} is not a number", field)
    if value < 0 or (value == 0 and not allow_zero):
        raise _invalid(f"{field} must be {'zero or more' if allow_zero else 'positive'}", field)
    if value > MAX_AMOUNT:
        raise _invalid(f"{field} is over {MAX_AMOUNT:,.2f}", field)
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise _invalid(f"{field} has more than two decimals", field)
    return int(value * 100)


def _invalid(message: str, field: str) -> InvalidInput:
    return InvalidInput(message, field=field, code=ErrorCode.INVALID_AMOUNT)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)
