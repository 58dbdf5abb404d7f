"""Donations to charity causes, totalled per cause in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db


@dataclass(frozen=True)
class CauseTotal:
    cause: str
    donations: int
    points: int
    value_cents: int


_TOTALS = (
    "SELECT cause, COUNT(*) AS n, SUM(points) AS points, SUM(value_cents) AS value "
    "FROM donations{where} GROUP BY cause ORDER BY cause"
)


async def donation_totals(
    period: tuple[datetime, datetime] | None = None, conn: BaseDBAsyncClient | None = None
) -> list[CauseTotal]:
    """Donations per cause (made in ``[start, end)`` when a period is given), in the database."""
    if period is None:
        query, values = _TOTALS.format(where=""), []
    else:
        where = " WHERE created_at >= $1 AND created_at < $2"
        query, values = _TOTALS.format(where=where), list(period)
    rows = await db.fetch(conn or db.connection(), query, *values)
    return [CauseTotal(r["cause"], int(r["n"]), int(r["points"]), int(r["value"])) for r in rows]
