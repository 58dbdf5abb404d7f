"""1. The read path: ``me { pointsBalance tier transactions offers }`` against two floors.

Today's floor (``bench.floor``) calls the same ``loyalty`` functions as the resolvers; the
raw-SQL floor (``bench.raw_floor``) answers with hand-written SQL on the raw driver.
"""

from __future__ import annotations

from typing import Any

import httpx

from bench import http, queries
from bench.load import Call
from bench.measure import COLUMNS, RATIO_NOTE, Variant, add_comparison, add_ratios, compare
from bench.plan import Bench
from bench.report import Table, verdict
from bench.servers import APP, FLOOR, RAW_FLOOR, serve

TARGET_P50_RATIO = 1.3
GOAL_RAW_P50_RATIO = 2.0
TARGET_TAIL = 2.5  # p99 / p50 of the app at the bench's calls in flight
CHECKED_MEMBERS = 20  # answers compared before timing


def me_call(pool: http.Pool, headers: list[dict[str, str]]) -> Call:
    """The ``me`` query with the i-th member's token; a GraphQL error counts as a failure."""
    body = queries.body(queries.ME)

    async def call(i: int) -> bool:
        reply = await pool.post("/graphql", body, headers[i % len(headers)])
        return reply.status == 200 and b'"errors"' not in reply.body

    return call


async def check_same_answers(ours: str, floors: list[str], headers: list[dict[str, str]]) -> None:
    """Every server answers the same JSON for each member, and every field has something in it.

    Raises RuntimeError naming what differs or what is empty.
    """
    body = queries.body(queries.ME)
    found: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=10) as client:
        for token in headers:
            sent = {**token, "Content-Type": "application/json"}
            answers = [
                (await client.post(f"{base}/graphql", content=body, headers=sent)).json()
                for base in (ours, *floors)
            ]
            for base, answer in zip(floors, answers[1:], strict=True):
                if answer != answers[0]:
                    raise RuntimeError(
                        f"the floor at {base} does not answer the same JSON as the app:\n"
                        f"{answers[0]}\n{answer}"
                    )
            found.append(answers[0]["data"]["me"])
    kinds = {offer["kind"] for me in found for offer in me["offers"]}
    if not all(me["transactions"]["edges"] for me in found) or kinds != {"PRODUCT", "REWARD"}:
        raise RuntimeError(f"transactions or offers are missing from the seeded data: {found[0]}")
    if not any(me["tier"] for me in found):
        raise RuntimeError("no checked member holds a tier")


async def run(bench: Bench) -> Table:
    """Floor and app in alternating rounds; medians, paired ratios and the target."""
    plan = bench.plan
    headers = bench.member_headers()
    table = Table(
        f"Read path ({bench.backend}): me {{ pointsBalance tier transactions(first: 10) "
        f"offers(first: 10) }}, 1 uvicorn worker, {plan.concurrency} in flight",
        COLUMNS,
    )
    with (
        serve(APP, bench.settings, bench.log("read-app")) as ours,
        serve(FLOOR, bench.settings, bench.log("read-floor")) as floor,
        serve(RAW_FLOOR, bench.settings, bench.log("read-raw-floor")) as raw,
    ):
        await check_same_answers(ours.base, [floor.base, raw.base], headers[:CHECKED_MEMBERS])
        floor_pool = http.Pool(floor.base, plan.concurrency)
        raw_pool = http.Pool(raw.base, plan.concurrency)
        ours_pool = http.Pool(ours.base, plan.concurrency)
        try:
            comparison = await compare(
                [
                    Variant(
                        "floor: Starlette endpoint", me_call(floor_pool, headers), floor.cpu_seconds
                    ),
                    Variant(
                        "raw-SQL floor: Starlette + driver",
                        me_call(raw_pool, headers),
                        raw.cpu_seconds,
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
            await raw_pool.close()
            await ours_pool.close()
    ratios = add_comparison(table, comparison, "ours / floor")
    to_raw = comparison.ratios_between(2, 1)
    add_ratios(table, "ours / raw-SQL floor", to_raw)
    ours_summary = comparison.summaries[2]
    tail = ours_summary.p99 / ours_summary.p50
    rows = bench.seeded.rows
    table.notes[:0] = [
        verdict("p50 ratio ours/floor", ratios.p50, at_most=TARGET_P50_RATIO),
        verdict("p50 ratio ours/raw-SQL floor (a goal)", to_raw.p50, at_most=GOAL_RAW_P50_RATIO),
        verdict(f"ours p99/p50 at {plan.concurrency} in flight", tail, at_most=TARGET_TAIL),
    ]
    table.notes += [
        "floor: bench/floor.py, a plain Starlette endpoint with the same token check, the same "
        "reads through the same loyalty and recommend functions and the same JSON (checked for "
        f"{CHECKED_MEMBERS} members before timing), served the same way",
        "raw-SQL floor: bench/raw_floor.py, the same answer from five hand-written statements on "
        "the raw driver (asyncpg / aiosqlite), encoded compactly, behind a bare Starlette "
        "endpoint with the same token check; the reward ranking is the rule's own function",
        f"{plan.rounds} rounds of {plan.read_requests} requests per variant after "
        f"{plan.warmup} warm-up; {len(bench.seeded.member_ids)} members with "
        f"{plan.entries_per_member} entries each, a different member's token per request; "
        f"{rows['tiers']} tiers held by {rows['member_tiers']} members, {rows['rewards']} "
        f"rewards, {rows['member_offers']:,} precomputed offers of an active model version",
        RATIO_NOTE,
    ]
    return table
