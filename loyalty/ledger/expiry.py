"""When a lot of points expires: one rule for every writer of lots."""

from __future__ import annotations

from datetime import datetime, timedelta

from loyalty.settings import Settings


def lot_expires_at(settings: Settings, earned_at: datetime) -> datetime | None:
    """Points earned at ``earned_at`` expire ``LOYALTY_LOT_EXPIRY_DAYS`` later (0: never)."""
    if not settings.lot_expiry_days:
        return None
    return earned_at + timedelta(days=settings.lot_expiry_days)
