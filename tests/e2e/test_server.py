"""End to end: a real uvicorn server driven with the gql client, on both backends."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport

from loyalty.events.signing import sign
from loyalty.members import tokens
from loyalty.settings import Settings
from tests.support import ADMIN_KEY, STOREFRONT_KEY, WEBHOOK_SECRET


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "LOYALTY_DATABASE_URL": settings.database_url,
        "LOYALTY_ADMIN_KEY": ADMIN_KEY,
        "LOYALTY_STOREFRONT_KEY": STOREFRONT_KEY,
        "LOYALTY_SECRET": settings.secret.value,
        "LOYALTY_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    """A uvicorn process serving the app on a free port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:app_from_env",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=server_env(settings),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def client(base: str, token: str | None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(transport=HTTPXAsyncTransport(url=f"{base}/graphql", headers=headers))


ENROLL = gql("""mutation { enrollMember(input: {externalId: "cust-9", email: "nine@example.com"}) {
  member { externalId } userErrors { code } } }""")
TOKEN = gql("""mutation { issueMemberToken(externalId: "cust-9") { token userErrors { code } } }""")
ORDER = gql("""mutation($input: RecordOrderInput!) { recordOrder(input: $input) {
  pointsAwarded replayed userErrors { code } } }""")
REFUND = gql("""mutation { refundOrder(input: {orderExternalId: "o-9", externalId: "r-9", amount: "10.00"}) {
  pointsReversed userErrors { code } } }""")
ME = gql(
    """{ me { externalId pointsBalance transactions(first: 10) { edges { node { kind points balanceAfter } } } } }"""
)


async def test_storefront_and_app_journey(server, settings):
    order = {
        "input": {
            "externalId": "o-9",
            "memberExternalId": "cust-9",
            "lines": [{"sku": "TEA", "quantity": 4, "unitPrice": "10.00"}],
        }
    }
    async with client(server, STOREFRONT_KEY) as shop:
        enrolled = await shop.execute(ENROLL)
        token = (await shop.execute(TOKEN))["issueMemberToken"]["token"]
        first = await shop.execute(GraphQLRequest(ORDER, variable_values=order))
        replay = await shop.execute(GraphQLRequest(ORDER, variable_values=order))
    assert enrolled["enrollMember"]["userErrors"] == []
    assert first["recordOrder"] == {"pointsAwarded": 40, "replayed": False, "userErrors": []}
    assert replay["recordOrder"]["replayed"] is True

    webhook = json.dumps(
        {
            "id": "o-9",
            "customer": {"id": "cust-9"},
            "currency": "USD",
            "line_items": [{"sku": "TEA", "quantity": 4, "price": "10.00"}],
        }
    ).encode()
    async with httpx.AsyncClient() as http:
        hook = await http.post(
            f"{server}/webhooks/orders",
            content=webhook,
            headers={"X-Loyalty-Hmac-Sha256": sign(webhook, WEBHOOK_SECRET)},
        )
        unsigned = await http.post(f"{server}/webhooks/orders", content=webhook)
    assert hook.status_code == 200 and hook.json()["replayed"] is True
    assert unsigned.status_code == 401

    async with client(server, token) as app:
        me = (await app.execute(ME))["me"]
    assert me["pointsBalance"] == 40
    assert [e["node"]["kind"] for e in me["transactions"]["edges"]] == ["EARN_ORDER"]

    async with client(server, STOREFRONT_KEY) as shop:
        refund = await shop.execute(REFUND)
    assert refund["refundOrder"] == {"pointsReversed": 10, "userErrors": []}
    async with client(server, token) as app:
        me = (await app.execute(ME))["me"]
    assert me["pointsBalance"] == 30
    assert [e["node"]["points"] for e in me["transactions"]["edges"]] == [-10, 40]


async def test_expired_or_forged_token_is_401(server, settings):
    expired, _ = tokens.issue(1, settings, now=datetime.now(UTC) - timedelta(days=1))
    async with httpx.AsyncClient() as http:
        for credential in (expired, expired[:-2] + "xx", "not-a-key"):
            response = await http.post(
                f"{server}/graphql",
                json={"query": "{ me { id } }"},
                headers={"Authorization": f"Bearer {credential}"},
            )
            assert response.status_code == 401


async def test_health_and_metrics(server):
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{server}/healthz")).json() == {"status": "ok"}
        await http.post(f"{server}/graphql", json={"query": "{ program { name } }"})
        metrics = (await http.get(f"{server}/metrics")).text
    assert 'loyalty_http_requests_total{path="/graphql",status="200"}' in metrics
