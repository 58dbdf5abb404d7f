"""4. Scaling: the read and write paths at 1, 2 and 4 uvicorn workers (PostgreSQL only)."""

from __future__ import annotations

import os
import time
from contextlib import ExitStack

from bench import http
from bench.machine import Busy
from bench.measure import Variant, compare, times
from bench.plan import Bench
from bench.read_path import me_call
from bench.report import Table
from bench.servers import APP, serve
from bench.write_path import carts, record_order_call

REOPEN_AFTER = 20  # requests per client connection; spreads connections over the workers
COLUMNS = [
    "workers",
    "read p50 ms",
    "read p99 ms",
    "read req/s",
    "read vs 1",
    "server CPU ms/read",
    "write p50 ms",
    "write p99 ms",
    "orders/s",
    "write vs 1",
    "server CPU ms/order",
]


async def run(bench: Bench) -> Table:
    """A server per worker count, all up at once and measured in alternating rounds."""
    plan = bench.plan
    table = Table(
        f"Scaling ({bench.backend}): uvicorn workers, {plan.concurrency} in flight", COLUMNS
    )
    if bench.settings.is_sqlite:
        table.notes.append(
            "skipped on SQLite: the whole file has one writer at a time (and each process one "
            "connection), so more workers cannot add write throughput; measured on PostgreSQL"
        )
        return table
    headers = bench.member_headers()
    baskets = carts(bench)
    with ExitStack() as stack:
        servers = [
            stack.enter_context(serve(APP, bench.settings, bench.log(f"scaling-{w}"), workers=w))
            for w in plan.workers
        ]
        pools = [
            http.Pool(s.base, plan.concurrency, requests_per_connection=REOPEN_AFTER)
            for s in servers
        ]
        busy = Busy()
        used = sum(s.cpu_seconds() for s in servers)
        began = time.monotonic()
        try:
            reads = await compare(
                [
                    Variant(f"read {w}", me_call(pool, headers), server.cpu_seconds)
                    for w, pool, server in zip(plan.workers, pools, servers, strict=True)
                ],
                total=plan.scaling_read_requests,
                rounds=plan.rounds,
                warmup=plan.warmup,
                concurrency=plan.concurrency,
                numbering=bench.numbering,
            )
            writes = await compare(
                [
                    Variant(
                        f"write {w}",
                        record_order_call(pool, bench, f"w{w}", baskets),
                        server.cpu_seconds,
                    )
                    for w, pool, server in zip(plan.workers, pools, servers, strict=True)
                ],
                total=plan.scaling_write_requests,
                rounds=plan.rounds,
                warmup=plan.warmup,
                concurrency=plan.concurrency,
                numbering=bench.numbering,
            )
        finally:
            for pool in pools:
                await pool.close()
        machine_busy = busy.fraction()
        servers_busy = (sum(s.cpu_seconds() for s in servers) - used) / (
            (time.monotonic() - began) * len(os.sched_getaffinity(0))
        )
    rows = zip(
        plan.workers, reads.summaries, reads.ratios, writes.summaries, writes.ratios, strict=True
    )
    for workers, read, read_x, write, write_x in rows:
        table.add(
            workers,
            read.p50,
            read.p99,
            read.rate,
            times(read_x.rate),
            read.cpu_ms,
            write.p50,
            write.p99,
            write.rate,
            times(write_x.rate),
            write.cpu_ms,
        )
    cores = len(os.sched_getaffinity(0))
    table.notes += [
        f"this machine has {cores} cores, shared by the workers, PostgreSQL and the load "
        "generator: workers beyond the free cores cannot add throughput; server CPU per "
        "request staying flat says how far more cores would carry it",
        f"during these rounds the machine's CPUs were {machine_busy:.0%} busy in all, the "
        f"servers under test used {servers_busy:.0%} of them (the rest: PostgreSQL, the load "
        "generator and any other work on the machine)",
        f"each worker has its own pool of up to {bench.settings.db_pool_max} connections; "
        f"{plan.rounds} rounds of {plan.scaling_read_requests} reads and "
        f"{plan.scaling_write_requests} orders per worker count after {plan.warmup} warm-up; "
        "'vs 1' is the paired median ratio of req/s to 1 worker",
        f"client connections are reopened every {REOPEN_AFTER}+ requests: uvicorn's workers "
        "share one socket and the first to wake accepts every pending connection, so 16 "
        "connections opened at once would all land on one worker",
        "SQLite is not scaled: the whole file has one writer at a time",
    ]
    return table
