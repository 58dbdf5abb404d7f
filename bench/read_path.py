"""1. The read path: ``me { pointsBalance transactions(first: 10) }`` against the floor."""

from __future__ import annotations

import httpx

from bench import http, queries
from bench.load import Call
from bench.measure import COLUMNS, RATIO_NOTE, Variant, add_comparison, compare
from bench.plan import Bench
from bench.report import Table, verdict
from bench.servers import APP, FLOOR, serve

TARGET_P50_RATIO = 1.5


def me_call(pool: http.Pool, headers: list[dict[str, str]]) -> Call:
    """The ``me`` query with the i-th member's token; a GraphQL error counts as a failure."""
    body = queries.body(queries.ME)

    async def call(i: int) -> bool:
        reply = await pool.post("/graphql", body, headers[i % len(headers)])
        return reply.status == 200 and b'"errors"' not in reply.body

    return call


async def same_answer(ours: str, floor: str, headers: dict[str, str]) -> bool:
    """Whether both servers answer the same JSON for one member."""
    body = queries.body(queries.ME)
    headers = {**headers, "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=10) as client:
        answers = [
            (await client.post(f"{base}/graphql", content=body, headers=headers)).json()
            for base in (ours, floor)
        ]
    return answers[0] == answers[1] and bool(answers[0]["data"]["me"]["transactions"]["edges"])


async def run(bench: Bench) -> Table:
    """Floor and app in alternating rounds; medians, paired ratios and the target."""
    plan = bench.plan
    headers = bench.member_headers()
    table = Table(
        f"Read path ({bench.backend}): me {{ pointsBalance transactions(first: 10) }}, "
        f"1 uvicorn worker, {plan.concurrency} in flight",
        COLUMNS,
    )
    with (
        serve(APP, bench.settings, bench.log("read-app")) as ours,
        serve(FLOOR, bench.settings, bench.log("read-floor")) as floor,
    ):
        if not await same_answer(ours.base, floor.base, headers[0]):
            raise RuntimeError("the floor does not answer the same JSON as the app")
        floor_pool = http.Pool(floor.base, plan.concurrency)
        ours_pool = http.Pool(ours.base, plan.concurrency)
        try:
            comparison = await compare(
                [
                    Variant(
                        "floor: Starlette endpoint", me_call(floor_pool, headers), floor.cpu_seconds
                    ),
                    Variant("ours: GraphQL app", me_call(ours_pool, headers), ours.cpu_seconds),
                ],
                total=plan.read_requests,
                rounds=plan.rounds,
                warmup=plan.warmup,
                concurrency=plan.concurrency,
                numbering=bench.numbering,
            )
        finally:
            await floor_pool.close()
            await ours_pool.close()
    ratios = add_comparison(table, comparison, "ours / floor")
    table.notes.insert(0, verdict("p50 ratio ours/floor", ratios.p50, at_most=TARGET_P50_RATIO))
    table.notes += [
        "floor: bench/floor.py, a plain Starlette endpoint with the same token check, the same "
        "tortoise reads and the same JSON (checked before timing), served the same way",
        f"{plan.rounds} rounds of {plan.read_requests} requests per variant after "
        f"{plan.warmup} warm-up; {len(bench.seeded.member_ids)} members with "
        f"{plan.entries_per_member} entries each, a different member's token per request",
        RATIO_NOTE,
    ]
    return table
