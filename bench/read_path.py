"""1. The read path: ``me { pointsBalance tier transactions offers }`` against the floor."""

from __future__ import annotations

from typing import Any

import httpx

from bench import http, queries
from bench.load import Call
from bench.measure import COLUMNS, RATIO_NOTE, Variant, add_comparison, compare
from bench.plan import Bench
from bench.report import Table, verdict
from bench.servers import APP, FLOOR, serve

TARGET_P50_RATIO = 1.5
CHECKED_MEMBERS = 20  # answers compared before timing


def me_call(pool: http.Pool, headers: list[dict[str, str]]) -> Call:
    """The ``me`` query with the i-th member's token; a GraphQL error counts as a failure."""
    body = queries.body(queries.ME)

    async def call(i: int) -> bool:
        reply = await pool.post("/graphql", body, headers[i % len(headers)])
        return reply.status == 200 and b'"errors"' not in reply.body

    return call


async def check_same_answers(ours: str, floor: str, headers: list[dict[str, str]]) -> None:
    """Both servers answer the same JSON for each member, and every field has something in it.

    Raises RuntimeError naming what differs or what is empty.
    """
    body = queries.body(queries.ME)
    found: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=10) as client:
        for token in headers:
            sent = {**token, "Content-Type": "application/json"}
            answers = [
                (await client.post(f"{base}/graphql", content=body, headers=sent)).json()
                for base in (ours, floor)
            ]
            if answers[0] != answers[1]:
                raise RuntimeError(
                    f"the floor does not answer the same JSON as the app:\n{answers[0]}\n"
                    f"{answers[1]}"
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
    ):
        await check_same_answers(ours.base, floor.base, headers[:CHECKED_MEMBERS])
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
    rows = bench.seeded.rows
    table.notes.insert(0, verdict("p50 ratio ours/floor", ratios.p50, at_most=TARGET_P50_RATIO))
    table.notes += [
        "floor: bench/floor.py, a plain Starlette endpoint with the same token check, the same "
        "reads through the same loyalty and recommend functions and the same JSON (checked for "
        f"{CHECKED_MEMBERS} members before timing), served the same way",
        f"{plan.rounds} rounds of {plan.read_requests} requests per variant after "
        f"{plan.warmup} warm-up; {len(bench.seeded.member_ids)} members with "
        f"{plan.entries_per_member} entries each, a different member's token per request; "
        f"{rows['tiers']} tiers held by {rows['member_tiers']} members, {rows['rewards']} "
        f"rewards, {rows['member_offers']:,} precomputed offers of an active model version",
        RATIO_NOTE,
    ]
    return table
