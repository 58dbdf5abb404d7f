"""Donations to charity causes, totalled per cause in the database."""

from __future__ import annotations

from dataclasses import dataclass

from loyalty import db


@dataclass(frozen=True)
class CauseTotal:
    cause: str
    donations: int
    points: int
    value_cents: int


async def donation_totals() -> list[CauseTotal]:
    """Donations per cause, computed in the database."""
    rows = await db.fetch(
        db.connection(),
        "SELECT cause, COUNT(*) AS n, SUM(points) AS points, SUM(value_cents) AS value "
        "FROM donations GROUP BY cause ORDER BY cause",
    )
    return [CauseTotal(r["cause"], int(r["n"]), int(r["points"]), int(r["value"])) for r in rows]
