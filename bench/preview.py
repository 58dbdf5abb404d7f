"""3. The calls a checkout waits on, previewPoints and validateCoupon, against the trivial
``{ program { name } }``."""

from __future__ import annotations

import json
import random

from bench import http, queries
from bench.load import Call
from bench.measure import COLUMNS, RATIO_NOTE, Variant, add_ratios, compare
from bench.plan import Bench
from bench.report import Table
from bench.servers import APP, serve
from loyalty import db, rewards
from models import RewardKind

COUPONS = 200
VALIDATE = """query Validate($code: String!, $cart: [CartLineInput!]) {
  validateCoupon(code: $code, cart: $cart) { valid discount reason }
}"""


async def issue_coupons(bench: Bench) -> list[str]:
    """Coupon codes as members hold them: a 10%-off reward redeemed by seeded members."""
    await db.init(bench.settings, apply_migrations=False)
    try:
        reward = await rewards.create_reward(
            rewards.RewardInput(
                name="Bench 10% off", kind=RewardKind.PERCENT_DISCOUNT, points_cost=1, percent=10
            )
        )
        codes = []
        for member_id in bench.seeded.member_ids[:COUPONS]:
            redemption = await rewards.redeem(member_id, reward.id)
            assert redemption.coupon is not None
            codes.append(redemption.coupon.code)
        return codes
    finally:
        await db.close()


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


def validate_call(pool: http.Pool, bench: Bench, codes: list[str]) -> Call:
    """validateCoupon for a held code and a 10-line cart, with the storefront key."""
    rng = random.Random(4)
    bodies = [
        json.dumps(
            {
                "query": VALIDATE,
                "variables": {
                    "code": code,
                    "cart": queries.lines_json(queries.cart(rng, bench.seeded.products)),
                },
            }
        ).encode()
        for code in codes
    ]
    headers = bench.staff_headers()

    async def call(i: int) -> bool:
        reply = await pool.post("/graphql", bodies[i % len(bodies)], headers)
        if reply.status != 200:
            return False
        data = json.loads(reply.body).get("data") or {}
        return (data.get("validateCoupon") or {}).get("valid") is True

    return call


async def run(bench: Bench) -> Table:
    """At 1 in flight (one checkout waiting) and at the benchmark's concurrency."""
    plan = bench.plan
    table = Table(
        f"Checkout calls ({bench.backend}): previewPoints and validateCoupon with a 10-line "
        "cart vs { program { name } }, 1 uvicorn worker",
        COLUMNS,
    )
    codes = await issue_coupons(bench)
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
                        Variant(
                            f"validateCoupon, {concurrency} in flight",
                            validate_call(pool, bench, codes),
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
            table.notes.append(
                f"machine CPUs busy while measuring {concurrency} in flight: {comparison.busy:.0%}"
            )
            for summary in comparison.summaries:
                table.add(
                    summary.name,
                    summary.p50,
                    summary.p99,
                    summary.rate,
                    summary.cpu_ms,
                    summary.errors,
                )
            add_ratios(table, f"preview / program, {concurrency} in flight", comparison.ratios[1])
            add_ratios(table, f"validate / program, {concurrency} in flight", comparison.ratios[2])
    table.notes += [
        f"{plan.rounds} rounds of {plan.preview_requests} requests per variant after "
        f"{plan.warmup} warm-up; no target: the baseline is the cheapest public query "
        "(GraphQL over HTTP plus the programme's own reads)",
        RATIO_NOTE,
    ]
    return table
