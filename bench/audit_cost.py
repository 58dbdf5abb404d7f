"""What the audit entry costs a storefront call: ``recordOrder`` (one line) executed through
the schema in process (no HTTP) on a fresh SQLite file, with the audit extension and with it
taken off, in alternating rounds.

    python -m bench.audit_cost [CALLS_PER_ROUND]
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from api.audit import Audited
from api.context import Context, Role
from api.schema import Mutation, build_schema
from loyalty import db, members
from loyalty.settings import Secret, Settings

RECORD_ORDER = """mutation($input: RecordOrderInput!) {
  recordOrder(input: $input) { pointsAwarded userErrors { code } } }"""
ROUNDS = 3


async def _calls(schema: Any, settings: Settings, prefix: str, count: int) -> list[float]:
    seconds = []
    for i in range(count):
        line = {"sku": "TEA", "quantity": 1, "unitPrice": "10.00"}
        order = {"externalId": f"{prefix}-{i}", "memberExternalId": "bench-1", "lines": [line]}
        start = time.perf_counter()
        result = await schema.execute(
            RECORD_ORDER,
            variable_values={"input": order},
            context_value=Context(settings, Role.STOREFRONT),
        )
        seconds.append(time.perf_counter() - start)
        assert result.errors is None and result.data is not None
        assert result.data["recordOrder"]["userErrors"] == []
    return seconds


async def main(count: int) -> None:
    folder = Path(tempfile.mkdtemp())
    settings = Settings(
        database_url=f"sqlite://{folder / 'bench.sqlite3'}",
        storefront_key=Secret("bench-storefront-key-of-thirty-two-bytes"),
        secret=Secret("bench-signing-secret-of-thirty-two-bytes"),
    )
    await db.init(settings)
    try:
        await members.enroll(members.EnrollInput("bench-1", "bench@example.com"), settings)
        audited = build_schema()
        for field in Mutation.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            field.extensions[:] = [e for e in field.extensions if not isinstance(e, Audited)]
        plain = build_schema()
        await _calls(audited, settings, "warm", count // 3 or 1)
        taken: dict[str, list[float]] = {"audited": [], "not audited": []}
        for round_ in range(ROUNDS):
            taken["audited"] += await _calls(audited, settings, f"a{round_}", count)
            taken["not audited"] += await _calls(plain, settings, f"p{round_}", count)
    finally:
        await db.close()
        shutil.rmtree(folder)
    print("| recordOrder | calls | median ms | p90 ms |\n|---|---|---|---|")
    for name, seconds in taken.items():
        p50, p90 = statistics.median(seconds) * 1000, statistics.quantiles(seconds, n=10)[-1] * 1000
        print(f"| {name} | {len(seconds)} | {p50:.2f} | {p90:.2f} |")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
