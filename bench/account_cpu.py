"""CPU of one account-page answer in process, without HTTP: where the read path's time goes.

``python -m bench.account_cpu`` seeds a SQLite file (300 members of the bench's history), then
times, in alternating repetitions, the ``me`` query of ``bench.queries`` executed against the
schema with graphql-core's standard executor and with ``api.execution.LeanExecution``, and the
reads alone (the functions the resolvers call). Prints the minimum and the median per variant
of this thread's CPU per answer (the minimum is the steadier figure on a shared machine).
Not a test and not part of ``python -m bench``.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.context import Context, Role
from api.schema import build_schema
from bench import floor, queries, seed
from bench.database import bench_settings
from loyalty import db, members
from loyalty.ledger import history

ANSWERS = 200
REPETITIONS = 6


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="loyalty-account-cpu-") as tmp:
        settings = bench_settings(f"sqlite://{tmp}/bench.sqlite3")
        await db.migrate(settings)
        rows, seeded = seed.generate(300, 50, 2000)
        await seed.load(settings, rows)
        await db.init(settings, apply_migrations=False)
        try:
            ids = seeded.member_ids
            lean = build_schema()
            standard = build_schema()
            standard.execution_context_class = StrawberryGraphQLCoreExecutionContext

            def graphql(schema: object) -> Callable[[int], Awaitable[object]]:
                async def answer(i: int) -> object:
                    context = Context(settings, Role.MEMBER, ids[i % len(ids)])
                    result = await schema.execute(queries.ME, context_value=context)  # type: ignore[attr-defined]
                    assert not result.errors, result.errors
                    return result

                return answer

            async def reads(i: int) -> object:
                found = await members.account(ids[i % len(ids)])
                await history.entries(found.member.id, floor.PAGE, None)
                return await floor.offers(found, floor.OFFERS)

            variants = {
                "GraphQL, standard executor": graphql(standard),
                "GraphQL, lean executor": graphql(lean),
                "reads only (the resolvers' functions)": reads,
            }
            spent: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(REPETITIONS):
                for name, answer in variants.items():
                    started = time.thread_time()
                    for i in range(ANSWERS):
                        await answer(i)
                    spent[name].append(1000 * (time.thread_time() - started) / ANSWERS)
        finally:
            await db.close()
    print(f"CPU per account-page answer, in process, {ANSWERS} answers x {REPETITIONS}:")
    for name, values in spent.items():
        print(f"  {name:40s} min {min(values):.2f} ms, median {statistics.median(values):.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
