"""2. The write path: ``recordOrder`` with 10 lines against the same rows written raw.

The target is against the raw driver called from the bench process (no HTTP). The same raw
transaction behind a plain Starlette endpoint (``POST /orders`` of ``bench.floor``) shows what
HTTP and JSON alone cost; the ratio to it is informational.
"""

from __future__ import annotations

import json
import random

from bench import http, queries
from bench.load import Call
from bench.measure import COLUMNS, RATIO_NOTE, Variant, add_comparison, add_ratios, compare
from bench.plan import Bench
from bench.raw_writes import RawOrder, Writer, writer
from bench.report import Table, verdict
from bench.seed import Product
from bench.servers import APP, FLOOR, serve

TARGET_RATE_RATIO = 0.5
CARTS = 500


def carts(bench: Bench) -> list[list[tuple[Product, int]]]:
    """Ready-made 10-line carts, reused round-robin."""
    rng = random.Random(5)
    return [queries.cart(rng, bench.seeded.products) for _ in range(CARTS)]


def record_order_call(
    pool: http.Pool, bench: Bench, run: str, baskets: list[list[tuple[Product, int]]]
) -> Call:
    """recordOrder for order ``i`` (a new order id each call) by a member picked by ``i``."""
    headers = bench.staff_headers()
    members = bench.seeded.member_external_ids

    async def call(i: int) -> bool:
        body = queries.record_order_body(
            f"{run}-{i}", members[(i * 7919) % len(members)], baskets[i % len(baskets)]
        )
        reply = await pool.post("/graphql", body, headers)
        if reply.status != 200:
            return False
        data = json.loads(reply.body).get("data") or {}
        result = data.get("recordOrder") or {}
        return result.get("userErrors") == [] and result.get("replayed") is False

    return call


def raw_call(raw: Writer, bench: Bench, run: str, baskets: list[list[tuple[Product, int]]]) -> Call:
    """The same order's rows in one transaction with the raw driver."""
    members = bench.seeded.member_ids

    async def call(i: int) -> bool:
        member = members[(i * 7919) % len(members)]
        await raw.write(RawOrder(f"{run}-{i}", member, baskets[i % len(baskets)]))
        return True

    return call


def raw_http_call(
    pool: http.Pool, bench: Bench, run: str, baskets: list[list[tuple[Product, int]]]
) -> Call:
    """The same order posted to the floor's raw-driver endpoint, with the storefront key."""
    headers = bench.staff_headers()
    members = bench.seeded.member_ids

    async def call(i: int) -> bool:
        member = members[(i * 7919) % len(members)]
        body = RawOrder(f"{run}-{i}", member, baskets[i % len(baskets)]).body()
        reply = await pool.post("/orders", body, headers)
        return reply.status == 200 and b'"pointsAwarded"' in reply.body

    return call


async def run(bench: Bench) -> Table:
    """Raw driver, raw driver over HTTP and app take turns; orders/s ratio against the target."""
    plan = bench.plan
    baskets = carts(bench)
    table = Table(
        f"Write path ({bench.backend}): recordOrder with 10 lines, 1 uvicorn worker, "
        f"{plan.concurrency} in flight",
        COLUMNS,
    )
    driver = "aiosqlite" if bench.settings.is_sqlite else "asyncpg"
    with (
        serve(APP, bench.settings, bench.log("write-app")) as ours,
        serve(FLOOR, bench.settings, bench.log("write-floor")) as floor,
    ):
        pool = http.Pool(ours.base, plan.concurrency)
        floor_pool = http.Pool(floor.base, plan.concurrency)
        try:
            async with writer(bench.settings) as raw:
                comparison = await compare(
                    [
                        Variant(f"raw driver: {driver}", raw_call(raw, bench, "raw", baskets)),
                        Variant(
                            f"raw over HTTP: Starlette + {driver}",
                            raw_http_call(floor_pool, bench, "http", baskets),
                            floor.cpu_seconds,
                        ),
                        Variant(
                            "ours: GraphQL recordOrder",
                            record_order_call(pool, bench, "app", baskets),
                            ours.cpu_seconds,
                        ),
                    ],
                    total=plan.write_requests,
                    rounds=plan.rounds,
                    warmup=plan.warmup,
                    concurrency=plan.concurrency,
                    numbering=bench.numbering,
                )
        finally:
            await pool.close()
            await floor_pool.close()
    ratios = add_comparison(table, comparison, "ours / raw")
    over_http = comparison.ratios_between(2, 1)
    add_ratios(table, "ours / raw over HTTP", over_http)
    add_ratios(table, "raw over HTTP / raw", comparison.ratios[1])
    table.notes[:0] = [
        verdict("orders/s ratio ours/raw", ratios.rate, at_least=TARGET_RATE_RATIO),
        f"orders/s ratio ours/raw over HTTP: {over_http.rate:.2f} (informational, no target)",
    ]
    table.notes += [
        "raw: order + 10 lines + member update + ledger entry + lot in one transaction "
        "(bench/raw_writes.py), from the bench process, no HTTP",
        "raw over HTTP: the same transaction behind POST /orders of bench/floor.py (storefront "
        "key checked, JSON body parsed, no look-ups), served by uvicorn like the app, 1 worker",
        f"{plan.rounds} rounds of {plan.write_requests} orders per variant after "
        f"{plan.warmup} warm-up; req/s = orders/s",
        RATIO_NOTE,
    ]
    return table
