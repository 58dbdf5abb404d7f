"""Base earning arithmetic (no database)."""

from decimal import Decimal

import pytest

from loyalty.errors import InvalidInput
from loyalty.programme import earning
from loyalty.settings import Settings
from tests.support import lines


def test_points_are_floor_of_eligible_times_rate():
    settings = Settings(points_per_unit=Decimal("1.5"))
    breakdown = earning.compute(earning.validate_lines(lines(("A", 1, "9.99"))), 0, settings)
    assert breakdown.points == 14  # 14.985 rounded down


def test_line_points_add_up_to_the_order_points():
    checked = earning.validate_lines(lines(("A", 1, "0.40"), ("B", 1, "0.40"), ("C", 1, "0.40")))
    breakdown = earning.compute(checked, 0, Settings())
    assert breakdown.points == 1
    assert sorted(line.points for line in breakdown.lines) == [0, 0, 1]


def test_discount_is_shared_over_lines():
    checked = earning.validate_lines(lines(("A", 1, "30.00"), ("B", 1, "10.00")))
    breakdown = earning.compute(checked, 1000, Settings())
    assert [line.eligible_cents for line in breakdown.lines] == [2250, 750]


def test_too_many_lines_is_refused():
    with pytest.raises(InvalidInput):
        earning.validate_lines(lines(*[("A", 1, "1.00")] * 501))
