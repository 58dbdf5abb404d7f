"""Money parsing: every amount becomes exact cents or an INVALID_AMOUNT naming its field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.errors import ErrorCode, InvalidInput
from loyalty.money import MAX_AMOUNT, to_cents


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        ("12.10", 1210),
        (Decimal("1E+2"), 10000),
        (7, 700),
        (0.1, 10),
        ("-0", 0),
        ("1000000000000.00", 100_000_000_000_000),
    ],
)
def test_to_cents_is_exact(amount, cents):
    assert to_cents(amount, field="amount") == cents


@pytest.mark.parametrize(
    "amount",
    [
        "1e30",
        10**30,
        1e308,
        "1e999999999",
        "1000000000000.01",
        "NaN",
        "sNaN",
        "Infinity",
        float("-inf"),
        "abc",
        "",
        True,
        "-0.01",
        "0.001",
        "1e-999999999",
    ],
)
def test_to_cents_refuses_non_finite_huge_or_malformed_amounts(amount):
    with pytest.raises(InvalidInput) as refused:
        to_cents(amount, field="lines.0.unitPrice")

    assert refused.value.code == ErrorCode.INVALID_AMOUNT
    assert refused.value.field == "lines.0.unitPrice"


def test_to_cents_bound_is_a_trillion_currency_units():
    assert MAX_AMOUNT == 10**12
    assert to_cents(MAX_AMOUNT, field="amount") == 10**14
