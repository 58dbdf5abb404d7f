"""Verify the ledger invariants on a live database (``loyalty check``)."""

from __future__ import annotations

from dataclasses import dataclass

from loyalty import db
from models import PendingStatus


@dataclass(frozen=True)
class Violation:
    member_id: int
    external_id: str
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"member {self.member_id} ({self.external_id}): {self.invariant}: {self.detail}"


_BALANCES = """
SELECT m.id, m.external_id, m.balance,
       COALESCE(e.total, 0) AS entries_total,
       COALESCE(l.total, 0) AS lots_total
FROM members m
LEFT JOIN (SELECT member_id, SUM(points) AS total FROM ledger_entries GROUP BY member_id) e
       ON e.member_id = m.id
LEFT JOIN (SELECT member_id, SUM(remaining) AS total FROM lots GROUP BY member_id) l
       ON l.member_id = m.id
WHERE m.balance < 0 OR m.balance <> COALESCE(e.total, 0) OR m.balance <> COALESCE(l.total, 0)
"""

# Each entry's balance_after must equal the running sum of the member's entries up to it:
# an entry that was edited or removed afterwards breaks the chain.
_CHAIN = """
SELECT x.member_id, m.external_id, x.id, x.balance_after, x.running
FROM (SELECT member_id, id, balance_after,
             SUM(points) OVER (PARTITION BY member_id ORDER BY id
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
      FROM ledger_entries) x
JOIN members m ON m.id = x.member_id
WHERE x.balance_after <> x.running OR x.balance_after < 0
"""

_PENDING = """
SELECT m.id, m.external_id, m.pending, COALESCE(p.held, 0) AS held
FROM members m
LEFT JOIN (SELECT member_id, SUM(points) AS held FROM pending_credits
           WHERE status = $1 GROUP BY member_id) p ON p.member_id = m.id
WHERE m.pending <> COALESCE(p.held, 0) OR m.pending < 0
"""

# Invariant 6: the open shortfall is what refunds could not take back less what was settled.
_SHORTFALL = """
SELECT m.id, m.external_id, m.shortfall, COALESCE(e.owed, 0) AS owed
FROM members m
LEFT JOIN (SELECT member_id, SUM(shortfall) - SUM(settled) AS owed FROM ledger_entries
           GROUP BY member_id) e ON e.member_id = m.id
WHERE m.shortfall <> COALESCE(e.owed, 0) OR m.shortfall < 0
"""

_LOTS = """
SELECT l.member_id, m.external_id, l.id, l.remaining, l.points
FROM lots l JOIN members m ON m.id = l.member_id
WHERE l.remaining < 0 OR l.remaining > l.points
"""


async def violations() -> list[Violation]:
    """Every broken invariant, per member."""
    conn = db.connection()
    found: list[Violation] = []
    for row in await db.fetch(conn, _BALANCES):
        if row["balance"] < 0:
            found.append(
                Violation(
                    row["id"], row["external_id"], "2 balance >= 0", f"balance {row['balance']}"
                )
            )
        if row["balance"] != row["entries_total"]:
            found.append(
                Violation(
                    row["id"],
                    row["external_id"],
                    "1 balance == sum of entries",
                    f"balance {row['balance']}, entries {row['entries_total']}",
                )
            )
        if row["balance"] != row["lots_total"]:
            found.append(
                Violation(
                    row["id"],
                    row["external_id"],
                    "3 balance == sum of lot remainders",
                    f"balance {row['balance']}, lots {row['lots_total']}",
                )
            )
    for row in await db.fetch(conn, _CHAIN):
        found.append(
            Violation(
                row["member_id"],
                row["external_id"],
                "5 entries never changed",
                f"entry {row['id']} balance_after {row['balance_after']}, "
                f"running sum {row['running']}",
            )
        )
    for row in await db.fetch(conn, _LOTS):
        found.append(
            Violation(
                row["member_id"],
                row["external_id"],
                "3 lot remainder within 0..points",
                f"lot {row['id']} remaining {row['remaining']} of {row['points']}",
            )
        )
    for row in await db.fetch(conn, _PENDING, PendingStatus.PENDING.value):
        found.append(
            Violation(
                row["id"],
                row["external_id"],
                "pending == sum of pending credits",
                f"pending {row['pending']}, credits {row['held']}",
            )
        )
    for row in await db.fetch(conn, _SHORTFALL):
        found.append(
            Violation(
                row["id"],
                row["external_id"],
                "6 open shortfall == shortfalls less settlements",
                f"shortfall {row['shortfall']}, entries {row['owed']}",
            )
        )
    duplicates = await db.fetch(
        conn,
        "SELECT idempotency_key, COUNT(*) AS n FROM ledger_entries "
        "GROUP BY idempotency_key HAVING COUNT(*) > 1",
    )
    for row in duplicates:
        found.append(
            Violation(
                0,
                "-",
                "4 one key, one effect",
                f"key {row['idempotency_key']} used {row['n']} times",
            )
        )
    return found
