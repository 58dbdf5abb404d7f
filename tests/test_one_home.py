"""Rules with one home, checked over the source of loyalty/: only the ledger writes balances,
entries and lots; enum values reach SQL as parameters taken from the enum class; transactions
open through ``loyalty.db``."""

from __future__ import annotations

import enum
import re
from pathlib import Path

import models

LOYALTY = Path(__file__).resolve().parents[1] / "loyalty"


def sources(skip: str | None = None) -> list[Path]:
    return [
        path
        for path in sorted(LOYALTY.rglob("*.py"))
        if skip is None or skip not in path.relative_to(LOYALTY).parts
    ]


WRITES = re.compile(
    r"UPDATE members SET [^\"']*\bbalance\b"  # balances (a no-op update is a lock: the ledger's)
    r"|INSERT INTO \"?(ledger_entries|lots|lot_uses)\b"
    r"|[\"'](ledger_entries|lots|lot_uses)[\"']"  # a table named for a bulk helper
    r"|\b(LedgerEntry|Lot|LotUse)\.(create|bulk_create)\b"
    r"|\b(insert|bulk_insert)\(\s*conn,\s*(LedgerEntry|Lot|LotUse)\b"
)


def test_nothing_outside_the_ledger_writes_balances_entries_or_lots():
    writers = [
        f"{path.relative_to(LOYALTY)}: {match.group(0)}"
        for path in sources(skip="ledger")
        for match in WRITES.finditer(path.read_text())
    ]

    assert writers == []


def enum_values() -> set[str]:
    kinds = [k for k in vars(models).values() if isinstance(k, type) and issubclass(k, enum.Enum)]
    return {str(member.value) for kind in kinds for member in kind}


def test_enum_values_are_bound_as_parameters_not_written_into_sql():
    values = "|".join(sorted(map(re.escape, enum_values())))
    # 'pending' in SQL text, or an enum interpolated into it: '{DeliveryStatus.PENDING.value}';
    # row['points'] (a column read in Python) is neither.
    literal = re.compile(rf"(?<!\[)'({values})'(?!\])|'\{{[A-Z]\w*\.[A-Z_]+(\.value)?\}}'")

    written = [
        f"{path.relative_to(LOYALTY)}: {match.group(0)}"
        for path in sources()
        for match in literal.finditer(path.read_text())
    ]

    assert written == []


def test_transactions_open_through_the_database_module():
    """``db.transaction()`` gives back what an opening cancelled mid-way took; tortoise's
    ``in_transaction`` keeps SQLite's lock (every later request waits on it)."""
    direct = [
        str(path.relative_to(LOYALTY))
        for path in sources()
        if path.name != "db.py" and re.search(r"\bin_transaction\b", path.read_text())
    ]

    assert direct == []
