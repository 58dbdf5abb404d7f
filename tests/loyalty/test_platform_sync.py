"""``loyalty sync bigcommerce`` and the REST client under it, against the local fake of
BigCommerce's API (tests/bigcommerce_fake.py), which serves the published V2/V3 samples.

The store: customers 11 and 32; orders 250, 251 and 252 of customer 11, paid (each the
published sample's lines, 45 points), a guest order 253 and an unpaid 254; a refund of 20.00
on order 251 (19 points). Pages of two items, so the five orders take three pages.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from api.relay import encode_id
from loyalty import cli, db
from loyalty.ledger import check
from loyalty.platforms import client as client_module
from loyalty.platforms import sync
from loyalty.platforms.bigcommerce_api import BigCommerceApi, connect
from loyalty.platforms.client import BATCH, INTERACTIVE, RestClient, Unavailable, wait_asked
from loyalty.settings import KEYS, Secret, Settings, variable
from models import InboxDelivery, InboxStatus, LedgerEntry, Member, Order, Refund, SyncCursor
from tests.bigcommerce_fake import ACCESS_TOKEN, STORE_HASH, FakeBigCommerce, customer, order
from tests.bigcommerce_fake import refund as refund_of
from tests.support import empty_tables, gql

SINCE = datetime(2019, 1, 1, tzinfo=UTC)
PAGE = 2
BALANCE = 3 * 45 - 19


def the_store() -> FakeBigCommerce:
    store = FakeBigCommerce()
    store.customers[11] = customer(11)
    store.customers[32] = customer(32, email="sam.jones@example.com", first_name="Sam")
    for order_id, status_id in ((250, 11), (251, 10), (252, 2)):
        store.add_order(order(order_id, status_id=status_id))
    store.add_order(order(253, status_id=10, customer_id=0))
    store.add_order(order(254, status_id=7))
    store.add_refund(refund_of(3, 251, 20))
    return store


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeBigCommerce:
    store = the_store()
    monkeypatch.setattr(client_module, "TRANSPORT", store.transport)
    return store


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(client_module, "SLEEP", sleep)
    return waited


@pytest.fixture
def store_settings(database: Settings) -> Settings:
    return replace(
        database,
        bigcommerce_store_hash=STORE_HASH,
        bigcommerce_access_token=Secret(ACCESS_TOKEN),
    )


@pytest.fixture
async def api(store_settings, fake, waits) -> AsyncIterator[BigCommerceApi]:
    async with connect(store_settings, BATCH) as store:
        yield store


async def run(settings: Settings, api: BigCommerceApi) -> sync.Report:
    return await sync.sync(settings, sync.bigcommerce_source(settings, api), SINCE, page_size=PAGE)


def pages_asked(fake: FakeBigCommerce, path: str, since: int = 0) -> list[str]:
    return [r.url.params["page"] for r in fake.requests[since:] if r.url.path.endswith(path)]


# -- the sync ------------------------------------------------------------------------------------


async def test_sync_applies_every_order_once_and_a_second_run_applies_nothing(
    store_settings, api, fake
):
    first = await run(store_settings, api)

    assert (first.pages, first.items, first.parked) == (5, 8, 0)
    assert (first.members, first.orders, first.refunds) == (2, 3, 1)
    assert await Order.all().order_by("id").values_list("external_id", flat=True) == [
        "bigcommerce-250",
        "bigcommerce-251",
        "bigcommerce-252",
    ]
    assert await Refund.all().values_list("external_id", flat=True) == ["bigcommerce-refund-3"]
    member = await Member.get(external_id="11")
    assert (member.email, member.balance) == ("jane.smith@example.com", BALANCE)
    assert await Member.filter(external_id="32").exists()
    assert pages_asked(fake, "/v2/orders") == ["1", "2", "3"]
    assert await SyncCursor.all().count() == 0  # completed: the next run starts over
    assert await check.violations() == []
    entries = await LedgerEntry.all().count()

    second = await run(store_settings, api)

    assert (second.pages, second.items, second.parked) == (5, 8, 0)
    assert (second.members, second.orders, second.refunds) == (0, 0, 0)
    assert await LedgerEntry.all().count() == entries
    assert (await Member.get(external_id="11")).balance == BALANCE
    assert len(fake.asked("/v2/orders/250/products")) == 1  # an order recorded is not refetched
    assert await check.violations() == []


async def test_interrupted_sync_resumes_after_the_last_completed_page(
    store_settings, api, fake, waits
):
    def page_two_down(request: httpx.Request) -> httpx.Response | None:
        second = request.url.path.endswith("/v2/orders") and request.url.params["page"] == "2"
        return httpx.Response(503) if second else None

    fake.outage = page_two_down

    with pytest.raises(Unavailable, match="503 Service Unavailable"):
        await run(store_settings, api)

    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]  # BATCH: 8 tries, doubling
    cursors = await SyncCursor.all().order_by("resource").values_list("resource", "page")
    assert cursors == [("customers", 1), ("orders", 1)]
    assert await Order.all().count() == 2  # page 1: orders 250 and 251
    assert await check.violations() == []

    fake.outage = None
    asked_before = len(fake.requests)
    report = await run(store_settings, api)

    assert pages_asked(fake, "/v2/orders", since=asked_before) == ["2", "3"]
    assert pages_asked(fake, "/v3/customers", since=asked_before) == []  # all done before
    assert report.orders == 1 and report.refunds == 1
    assert await Order.all().count() == 3 and await Refund.all().count() == 1
    assert (await Member.get(external_id="11")).balance == BALANCE
    assert await SyncCursor.all().count() == 0
    assert await check.violations() == []


async def test_rate_limited_page_waits_what_the_store_asks(store_settings, api, fake, waits):
    limited = [
        httpx.Response(429, headers={"X-Rate-Limit-Time-Reset-Ms": "15000"}),
        httpx.Response(429, headers={"Retry-After": "30"}),
    ]
    fake.outage = lambda request: limited.pop() if limited else None

    report = await run(store_settings, api)

    assert waits == [30.0, 15.0]
    assert report.orders == 3
    assert (await Member.get(external_id="11")).balance == BALANCE
    assert await check.violations() == []


async def test_an_order_that_cannot_be_applied_is_parked_and_the_sync_goes_on(
    store_settings, api, fake
):
    fake.orders[252]["default_currency_code"] = "EUR"

    report = await run(store_settings, api)

    assert (report.orders, report.parked) == (2, 1)
    parked = await InboxDelivery.get()
    assert (parked.platform, parked.topic, parked.status) == (
        "bigcommerce",
        "store/order/updated",
        InboxStatus.PARKED,
    )
    assert parked.reason.startswith("CURRENCY_MISMATCH")
    assert parked.delivery_id == "sync:store/order/updated:252:Mon, 11 Mar 2019 15:17:25 +0000"

    fake.orders[252]["default_currency_code"] = "USD"  # corrected at the store
    data = await gql(
        store_settings,
        "mutation($id: ID!) { replayWebhook(id: $id) { delivery { status } } }",
        {"id": encode_id("InboxDelivery", parked.id)},
    )

    assert data["replayWebhook"]["delivery"]["status"] == "APPLIED"
    assert await Order.all().count() == 3
    assert (await Member.get(external_id="11")).balance == BALANCE
    assert await check.violations() == []


# -- the command ---------------------------------------------------------------------------------


async def _reset(settings: Settings) -> None:
    await db.init(settings, apply_migrations=False)
    try:
        if not settings.is_sqlite:
            await empty_tables()
    finally:
        await db.close()


async def _balance(settings: Settings) -> int:
    await db.init(settings, apply_migrations=False)
    try:
        return (await Member.get(external_id="11")).balance
    finally:
        await db.close()


def test_sync_command_pulls_the_store_and_leaves_the_ledger_clean(
    settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    asyncio.run(_reset(settings))
    store = the_store()
    monkeypatch.setattr(client_module, "TRANSPORT", store.transport)
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("LOYALTY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", settings.database_url)
    for name in KEYS:
        monkeypatch.setenv(variable(name), getattr(settings, name).value)
    monkeypatch.setenv("LOYALTY_BIGCOMMERCE_STORE_HASH", STORE_HASH)
    monkeypatch.setenv("LOYALTY_BIGCOMMERCE_ACCESS_TOKEN", ACCESS_TOKEN)

    assert cli.main(["sync", "bigcommerce", "--since", "2019-01-01"]) == 0
    assert cli.main(["sync", "bigcommerce", "--since", "2019-01-01"]) == 0
    assert cli.main(["check"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "bigcommerce since 2019-01-01T00:00:00+00:00: 3 page(s), 8 item(s): 2 member(s) "
        "enrolled, 3 order(s) recorded, 1 refund(s) or cancellation(s) reversed, "
        "0 parked in the inbox"
    )
    assert out[1].endswith(
        "0 member(s) enrolled, 0 order(s) recorded, "
        "0 refund(s) or cancellation(s) reversed, 0 parked in the inbox"
    )
    assert out[2].endswith(": 0 violation(s)")
    assert asyncio.run(_balance(settings)) == BALANCE
    assert store.requests[0].url.host == "api.bigcommerce.com"
    assert store.requests[0].url.path.startswith(f"/stores/{STORE_HASH}/")
    assert store.requests[0].headers["x-auth-token"] == ACCESS_TOKEN


def test_sync_command_refuses_without_the_store_credentials(
    settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("LOYALTY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", settings.database_url)
    for name in KEYS:
        monkeypatch.setenv(variable(name), getattr(settings, name).value)

    assert cli.main(["sync", "bigcommerce", "--since", "2019-01-01"]) == 2
    assert cli.main(["sync", "bigcommerce", "--since", "last tuesday"]) == 2

    err = capsys.readouterr().err
    assert "needs LOYALTY_BIGCOMMERCE_STORE_HASH and LOYALTY_BIGCOMMERCE_ACCESS_TOKEN" in err
    assert "--since must be an ISO date or date-time, got 'last tuesday'" in err


# -- the client ----------------------------------------------------------------------------------


def answering(*answers: httpx.Response | Exception) -> tuple[RestClient, list[float], list[str]]:
    """A client whose requests get ``answers`` in turn (an exception is raised instead)."""
    queue = list(answers)
    asked: list[str] = []
    waited: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    http = httpx.AsyncClient(base_url="https://api.example", transport=httpx.MockTransport(handle))
    return RestClient(http, INTERACTIVE, sleep), waited, asked


async def test_client_waits_what_retry_after_asks_then_succeeds():
    rest, waited, asked = answering(
        httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={"id": 1})
    )

    answer = await rest.get("/v2/orders/1")

    assert answer.body == {"id": 1} and waited == [3.0] and asked == ["/v2/orders/1"] * 2


async def test_client_gives_up_after_its_attempts():
    rest, waited, asked = answering(*[httpx.Response(502)] * 3)

    with pytest.raises(Unavailable) as raised:
        await rest.get("/v2/orders/1")

    assert str(raised.value) == "GET /v2/orders/1: 502 Bad Gateway (3 attempts)"
    assert waited == [1.0, 2.0] and len(asked) == 3


async def test_client_retries_timeouts_and_refused_connections():
    rest, waited, _ = answering(
        httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(200, json=[])
    )

    assert (await rest.get("/v2/orders")).body == []
    assert waited == [1.0, 2.0]


async def test_client_does_not_retry_what_retrying_cannot_fix():
    rest, waited, asked = answering(httpx.Response(404))

    with pytest.raises(Unavailable, match=r"404 Not Found$"):
        await rest.get("/v2/orders/9")

    assert waited == [] and len(asked) == 1


async def test_client_reads_amounts_as_decimals_and_204_as_nothing():
    rest, _, _ = answering(
        httpx.Response(200, content=b'{"total_amount": 10.10}'), httpx.Response(204)
    )

    assert repr((await rest.get("/a")).body["total_amount"]) == "Decimal('10.10')"
    assert (await rest.get("/b")).body is None


def test_wait_asked_reads_every_form_the_platforms_use():
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    def asked(**headers: str) -> float | None:
        return wait_asked(httpx.Headers({k.replace("_", "-"): v for k, v in headers.items()}), now)

    assert asked(Retry_After="2.5") == 2.5
    assert asked(Retry_After="Wed, 01 May 2024 12:00:42 GMT") == 42.0
    assert asked(X_Retry_After="15") == 15.0
    assert asked(X_Rate_Limit_Time_Reset_Ms="1500") == 1.5
    assert asked(Retry_After="soon") is None
    assert asked() is None
