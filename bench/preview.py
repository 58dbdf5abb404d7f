"""3. previewPoints (the call a checkout waits on) against the trivial ``{ program { name } }``."""

from __future__ import annotations

import json
import random

from bench import http, queries
from bench.load import Call
from bench.measure import COLUMNS, RATIO_NOTE, Variant, add_comparison, compare
from bench.plan import Bench
from bench.report import Table
from bench.servers import APP, serve


def program_call(pool: http.Pool) -> Call:
    """The public programme query: GraphQL over HTTP and nothing else."""
    body = queries.body(queries.PROGRAM)

    async def call(_: int) -> bool:
        reply = await pool.post("/graphql", body, {})
        return reply.status == 200 and b'"errors"' not in reply.body

    return call


def preview_call(pool: http.Pool, bench: Bench) -> Call:
    """previewPoints for a 10-line cart of a member, with the storefront key."""
    rng = random.Random(3)
    members = bench.seeded.member_external_ids
    bodies = [
        queries.preview_body(rng.choice(members), queries.cart(rng, bench.seeded.products))
        for _ in range(200)
    ]
    headers = bench.staff_headers()

    async def call(i: int) -> bool:
        reply = await pool.post("/graphql", bodies[i % len(bodies)], headers)
        if reply.status != 200:
            return False
        data = json.loads(reply.body).get("data") or {}
        return (data.get("previewPoints") or {}).get("points", 0) > 0

    return call


async def run(bench: Bench) -> Table:
    """At 1 in flight (one checkout waiting) and at the benchmark's concurrency."""
    plan = bench.plan
    table = Table(
        f"previewPoints ({bench.backend}): 10-line cart vs {{ program {{ name }} }}, "
        "1 uvicorn worker",
        COLUMNS,
    )
    with serve(APP, bench.settings, bench.log("preview-app")) as ours:
        for concurrency in (1, plan.concurrency):
            pool = http.Pool(ours.base, concurrency)
            try:
                comparison = await compare(
                    [
                        Variant(
                            f"program {{ name }}, {concurrency} in flight",
                            program_call(pool),
                            ours.cpu_seconds,
                        ),
                        Variant(
                            f"previewPoints, {concurrency} in flight",
                            preview_call(pool, bench),
                            ours.cpu_seconds,
                        ),
                    ],
                    total=plan.preview_requests,
                    rounds=plan.rounds,
                    warmup=plan.warmup,
                    concurrency=concurrency,
                    numbering=bench.numbering,
                )
            finally:
                await pool.close()
            add_comparison(table, comparison, f"preview / program, {concurrency} in flight")
    table.notes += [
        f"{plan.rounds} rounds of {plan.preview_requests} requests per variant after "
        f"{plan.warmup} warm-up; no target: the baseline is the cheapest public query "
        "(GraphQL over HTTP plus the programme's own reads)",
        RATIO_NOTE,
    ]
    return table
