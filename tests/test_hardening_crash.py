"""Crash safety: a server killed mid-way through concurrent orders loses and doubles nothing.

A storefront sends many recordOrder calls at once and retries each until it is answered. Part
way through, the server gets SIGKILL (no shutdown, requests cut off, some perhaps committed but
never answered); a new server starts on the same database and the retries go on. In the end
every order is credited exactly once, the acknowledged ones included, and the ledger checks out.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections import Counter

import httpx
import pytest

from loyalty.ledger import check, keys
from loyalty.settings import Settings
from models import EntryKind, LedgerEntry, Member, Order
from tests.support import ADMIN_KEY, STOREFRONT_KEY, WEBHOOK_SECRET, enroll

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database")]

MEMBERS = 5
ORDERS = 200
CONCURRENCY = 16
KILL_AFTER = 60
GIVE_UP_SECONDS = 120.0
RECORD_ORDER = """mutation($input: RecordOrderInput!) { recordOrder(input: $input) {
  pointsAwarded replayed userErrors { code } } }"""


class Server:
    """A uvicorn process serving the app on a fixed port, which survives restarts."""

    def __init__(self, settings: Settings) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "LOYALTY_DATABASE_URL": settings.database_url,
            "LOYALTY_ADMIN_KEY": ADMIN_KEY,
            "LOYALTY_STOREFRONT_KEY": STOREFRONT_KEY,
            "LOYALTY_SECRET": settings.secret.value,
            "LOYALTY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        if self.process is not None:
            await self.process.wait()
        self.process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "uvicorn", "api.app:app_from_env", "--factory"),
            *("--host", "127.0.0.1", "--port", str(self.port), "--log-level", "critical"),
            env=self.env,
        )
        deadline = asyncio.get_running_loop().time() + 30
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    if (await http.get(f"{self.url}/readyz", timeout=1)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError("server did not start")
                if self.process.returncode is not None:
                    raise RuntimeError("server exited at start")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no lifespan shutdown, open requests cut off."""
        assert self.process is not None
        self.process.kill()

    async def stop(self) -> None:
        if self.process is not None:
            if self.process.returncode is None:
                self.process.terminate()
            await self.process.wait()


def expected_points(cents: int) -> int:
    return cents // 100  # one point per currency unit, rounded down


async def test_every_order_is_credited_once_across_a_killed_server(database):
    externals = [f"cust-{i}" for i in range(MEMBERS)]
    for external_id in externals:
        await enroll(external_id)
    sent = {
        f"order-{n}": (externals[n % MEMBERS], 500 + 37 * n) for n in range(ORDERS)
    }  # order id -> (member, cents)
    server = Server(database)
    answers: dict[str, dict[str, object]] = {}
    cut_off: set[str] = set()
    killed = asyncio.Event()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def record(http: httpx.AsyncClient, order_id: str) -> None:
        member, cents = sent[order_id]
        variables = {
            "input": {
                "externalId": order_id,
                "memberExternalId": member,
                "lines": [{"sku": "TEA", "quantity": 1, "unitPrice": f"{cents / 100:.2f}"}],
            }
        }
        give_up = asyncio.get_running_loop().time() + GIVE_UP_SECONDS
        async with gate:
            while asyncio.get_running_loop().time() < give_up:
                try:
                    response = await http.post(
                        f"{server.url}/graphql",
                        json={"query": RECORD_ORDER, "variables": variables},
                        headers={"Authorization": f"Bearer {STOREFRONT_KEY}"},
                        timeout=10,
                    )
                except httpx.TransportError:
                    cut_off.add(order_id)
                    await asyncio.sleep(0.05)
                    continue
                assert response.status_code == 200, response.text
                answers[order_id] = response.json()["data"]["recordOrder"]
                if len(answers) == KILL_AFTER:
                    server.kill()
                    killed.set()
                return
        raise AssertionError(f"{order_id} was never answered")

    async def restart_when_killed() -> None:
        await killed.wait()
        await server.start()

    await server.start()
    try:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=CONCURRENCY)) as http:
            await asyncio.gather(restart_when_killed(), *(record(http, o) for o in sent))
    finally:
        await server.stop()

    assert killed.is_set() and cut_off, "the kill should have cut some requests off"
    assert set(answers) == set(sent)
    for order_id, answer in answers.items():
        assert answer["userErrors"] == [], order_id
        assert answer["pointsAwarded"] == expected_points(sent[order_id][1]), order_id
    assert [str(v) for v in await check.violations()] == []
    credited = Counter(
        await LedgerEntry.filter(kind=EntryKind.EARN_ORDER).values_list(
            "idempotency_key", flat=True
        )
    )
    assert credited == {keys.order(o): 1 for o in sent}
    assert sorted(await Order.all().values_list("external_id", flat=True)) == sorted(sent)
    balances = dict(await Member.all().values_list("external_id", "balance"))
    owed = Counter[str]()
    for member, cents in sent.values():
        owed[member] += expected_points(cents)
    assert balances == dict(owed)
