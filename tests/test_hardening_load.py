"""Load: two uvicorn workers on PostgreSQL under a mixed load (reads, orders, redemptions) for a
bounded time: every response is a 200 without GraphQL errors, and the invariants hold."""

from __future__ import annotations

import asyncio
import collections
import os
import socket
import sys

import httpx
import pytest

from loyalty import rewards
from loyalty.ledger import adjust, check
from loyalty.members import tokens
from models import Member, RewardKind
from tests.support import ADMIN_KEY, STOREFRONT_KEY, WEBHOOK_SECRET, enroll

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database")]

WORKERS = 2
MEMBERS = 20
CONCURRENCY = 16
SECONDS = 15.0
ME = "{ me { pointsBalance tier { name } transactions(first: 10) { edges { node { points } } } offers(first: 5) { kind } } }"
ORDER = """mutation($input: RecordOrderInput!) { recordOrder(input: $input) { pointsAwarded userErrors { code } } }"""
REDEEM = """mutation($id: ID!) { redeemReward(input: {rewardId: $id}) { coupon { code } userErrors { code } } }"""


async def start_server(settings) -> tuple[asyncio.subprocess.Process, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {
        **os.environ,
        "LOYALTY_DATABASE_URL": settings.database_url,
        "LOYALTY_ADMIN_KEY": ADMIN_KEY,
        "LOYALTY_STOREFRONT_KEY": STOREFRONT_KEY,
        "LOYALTY_SECRET": settings.secret.value,
        "LOYALTY_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "uvicorn", "api.app:app_from_env", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS)),
        *("--log-level", "critical"),
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                if (await http.get(f"{url}/readyz", timeout=1)).status_code == 200:
                    return process, url
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    process.terminate()
    raise RuntimeError("server did not start")


async def test_mixed_load_on_several_workers(database):
    if database.is_sqlite:
        pytest.skip("several workers are a PostgreSQL set-up: SQLite has one writer")
    members = [await enroll(f"load-{i}") for i in range(MEMBERS)]
    for member in members:
        await adjust.adjust_points(member.id, 500, "seed")
    reward = await rewards.create_reward(
        rewards.RewardInput(name="ship", kind=RewardKind.FREE_SHIPPING, points_cost=100)
    )
    from api.relay import encode_id

    reward_id = encode_id("Reward", reward.id)
    member_tokens = {m.external_id: tokens.issue(m.id, database)[0] for m in members}
    process, url = await start_server(database)
    outcomes: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + SECONDS

    async def client(n: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            i = 0
            # Bounded by time, but each client sends every kind at least once however slow the
            # machine is (a loaded machine may answer only a few requests in the time).
            while loop.time() < stop_at or i < 7:
                member = members[(n + i) % MEMBERS].external_id
                kind = ("read", "read", "read", "read", "order", "order", "redeem")[i % 7]
                if kind == "read":
                    body, key = {"query": ME}, member_tokens[member]
                elif kind == "order":
                    variables = {
                        "input": {
                            "externalId": f"load-{n}-{i}",
                            "memberExternalId": member,
                            "lines": [{"sku": "A", "quantity": 1, "unitPrice": "12.34"}],
                        }
                    }
                    body, key = {"query": ORDER, "variables": variables}, STOREFRONT_KEY
                else:
                    body, key = (
                        {"query": REDEEM, "variables": {"id": reward_id}},
                        member_tokens[member],
                    )
                response = await http.post(
                    "/graphql", json=body, headers={"Authorization": f"Bearer {key}"}
                )
                payload = response.json()
                if response.status_code != 200 or payload.get("errors"):
                    failures.append(f"{kind} {response.status_code} {str(payload)[:300]}")
                outcomes[kind] += 1
                i += 1

    try:
        await asyncio.gather(*(client(n) for n in range(CONCURRENCY)))
    finally:
        process.terminate()
        await process.wait()

    total = sum(outcomes.values())
    print(
        f"\nmixed load, {WORKERS} workers, {CONCURRENCY} in flight, {SECONDS:.0f} s: "
        f"{total} requests ({total / SECONDS:.0f}/s) {dict(outcomes)}, failures {len(failures)}"
    )
    assert failures == []
    assert outcomes["order"] > 0 and outcomes["redeem"] > 0
    assert [str(v) for v in await check.violations()] == []
    assert all(m.balance >= 0 for m in await Member.all())
