"""Upper bounds on what one request may carry, the same on SQLite and PostgreSQL.

No real shop comes near them; they exist so that no input can push a stored number past what
its column (PostgreSQL ``integer``) or GraphQL's 32-bit ``Int`` can hold, on either backend.
The README's Configuration section lists them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MAX_LINES = 500
"""Lines per order or cart."""

MAX_QUANTITY = 100_000
"""Items per order line."""

MAX_UNIT_PRICE_CENTS = 100_000_000
"""1,000,000.00 per item."""

MAX_ORDER_CENTS = 1_000_000_000
"""10,000,000.00 per order: the subtotal, the discount, the shipping."""

MAX_POINTS = 10_000_000
"""Points of one change: an order's earn, an adjustment, a reward's cost, a rule's points."""

MAX_BALANCE = 1_000_000_000
"""A member's balance, and its pending points (GraphQL ``Int`` ends at 2,147,483,647)."""

MAX_LIFETIME_POINTS = 2_000_000_000
"""A member's lifetime points, which only grow."""

EARLIEST_ORDER = datetime(2000, 1, 1, tzinfo=UTC)
"""Orders placed before this are refused (a typo in a year, not a backfill)."""

ORDER_CLOCK_SKEW = timedelta(days=1)
"""How far in the future an order's time may be (clocks and time zones differ)."""
