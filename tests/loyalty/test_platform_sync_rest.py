"""``loyalty sync shopify`` and ``loyalty sync woocommerce`` against local fakes of their REST
APIs that page with ``Link`` headers, as both platforms do.

What the fakes serve is the platforms' published examples (tests/fixtures/platforms,
SOURCES.md): Shopify's "orders updated since" and "customers updated since" list answers, and
WooCommerce's "List all orders" and "List all customers" answers. Where a test needs a second
Shopify order it copies the sample and changes only the fields it names (said where it does).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from loyalty import cli
from loyalty.ledger import check
from loyalty.platforms import client as client_module
from loyalty.platforms import shopify_api, sync, woocommerce_api
from loyalty.platforms.client import BATCH, Unavailable
from loyalty.settings import KEYS, ConfigError, Secret, Settings, from_env, variable
from models import GuestOrder, LedgerEntry, Member, Order, Product, Refund, SyncCursor

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms"
SINCE = datetime(2005, 1, 1, tzinfo=UTC)
SHOP = "jsmith.myshopify.com"
SHOP_TOKEN = "shpat_test_token"
SITE = "https://example.com"
WC_KEY, WC_SECRET = "ck_test_key", "cs_test_secret"


def fixture(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text())


@dataclass
class LinkPagedApi:
    """Lists behind ``Link: <...>; rel="next"`` headers, a fixed number of items a page.

    ``lists`` maps a path to its items and how an answer wraps them (Shopify: ``{"orders":
    [...]}``, WooCommerce: the bare list). The page a request asks for is the ``cursor``
    query parameter of the link the previous answer gave (Shopify's is ``page_info``,
    WooCommerce's ``page``), so a client that builds its own URLs instead of following the
    links is caught."""

    origin: str
    cursor: str
    lists: dict[str, tuple[str | None, list[dict[str, Any]]]]
    page_size: int = 1
    requests: list[httpx.Request] = field(default_factory=list)
    down: set[tuple[str, str]] = field(default_factory=set)
    next_origin: str | None = None

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path not in self.lists:
            return httpx.Response(404, json={"errors": "Not Found"})
        page = int(request.url.params.get(self.cursor, "1"))
        if (path, str(page)) in self.down:
            return httpx.Response(503)
        key, items = self.lists[path]
        start = (page - 1) * self.page_size
        chunk = items[start : start + self.page_size]
        headers = {}
        if start + self.page_size < len(items):
            base = self.next_origin or self.origin
            url = f"{base}{path}?{self.cursor}={page + 1}&limit={self.page_size}"
            headers["Link"] = f'<{url}>; rel="next"'
        body: Any = {key: chunk} if key else chunk
        return httpx.Response(200, json=body, headers=headers)

    def pages_asked(self, path: str, since: int = 0) -> list[str]:
        return [
            r.url.params.get(self.cursor, "1") for r in self.requests[since:] if r.url.path == path
        ]


# -- Shopify -------------------------------------------------------------------------------------

ORDERS = "/admin/api/2026-07/orders.json"
CUSTOMERS = "/admin/api/2026-07/customers.json"
PRODUCTS = "/admin/api/2026-07/products.json"


def shopify_store() -> LinkPagedApi:
    sample = fixture("shopify/rest_orders_updated_since.json")["orders"][0]
    # A second order of the same customer: the sample with another id, paid, no refunds.
    second = copy.deepcopy(sample)
    second.update(id=450789470, financial_status="paid", refunds=[], name="#1002")
    customers = fixture("shopify/rest_customers_updated_since.json")["customers"]
    products = fixture("shopify/rest_products.json")["products"]
    return LinkPagedApi(
        origin=f"https://{SHOP}",
        cursor="page_info",
        lists={
            PRODUCTS: ("products", products),
            CUSTOMERS: ("customers", customers),
            ORDERS: ("orders", [sample, second]),
        },
    )


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> LinkPagedApi:
    store = shopify_store()
    monkeypatch.setattr(client_module, "TRANSPORT", store.transport)

    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr(client_module, "SLEEP", no_wait)
    return store


@pytest.fixture
def shop_settings(database: Settings) -> Settings:
    return replace(database, shopify_shop=SHOP, shopify_access_token=Secret(SHOP_TOKEN))


async def shopify_sync(settings: Settings) -> sync.Report:
    async with shopify_api.connect(settings, BATCH) as api:
        return await sync.sync(settings, sync.shopify_source(settings, api), SINCE, page_size=1)


async def test_shopify_sync_follows_the_link_pages_and_applies_each_order_once(shop_settings, shop):
    first = await shopify_sync(shop_settings)

    assert (first.pages, first.items, first.parked) == (5, 5, 0)
    assert (first.members, first.orders, first.refunds) == (1, 2, 1)
    assert shop.pages_asked(ORDERS) == ["1", "2"]
    assert all(r.headers["x-shopify-access-token"] == SHOP_TOKEN for r in shop.requests)
    assert shop.requests[0].url.params["updated_at_min"] == SINCE.isoformat()
    first_orders = next(r for r in shop.requests if r.url.path == ORDERS)
    assert first_orders.url.params["status"] == "any"
    member = await Member.get(external_id="207119551")
    assert (member.email, member.name) == ("bob.norman@mail.example.com", "Bob Norman")
    order = await Order.get(external_id="shopify-450789469")
    assert order.eligible_cents == 58700  # 3 x 199.00 less the 10.00 discount
    # The lines carry no product type; the products pulled first gave it (and the vendor).
    bought = await Product.filter(order_lines__order_id=order.id).values_list(
        "sku", "category", "vendor"
    )
    assert sorted(bought) == [
        ("IPOD2008BLACK", "Cult Products", "Apple"),
        ("IPOD2008GREEN", "Cult Products", "Apple"),
        ("IPOD2008RED", "Cult Products", "Apple"),
    ]
    # The sample order lists one refund of 209.00, reversed once by its id.
    refund = await Refund.get(external_id="shopify-refund-509562969")
    assert refund.amount_cents == 20900
    assert await SyncCursor.all().count() == 0
    assert await check.violations() == []
    entries = await LedgerEntry.all().count()

    second = await shopify_sync(shop_settings)

    assert (second.members, second.orders, second.refunds, second.parked) == (0, 0, 0, 0)
    assert await LedgerEntry.all().count() == entries


async def test_interrupted_shopify_sync_resumes_at_the_link_it_stopped_at(shop_settings, shop):
    shop.down.add((ORDERS, "2"))

    with pytest.raises(Unavailable, match="503"):
        await shopify_sync(shop_settings)

    cursor = await SyncCursor.get(platform="shopify", resource="orders")
    assert cursor.page == 1 and cursor.next == f"https://{SHOP}{ORDERS}?page_info=2&limit=1"
    assert await Order.all().count() == 1
    assert await check.violations() == []

    shop.down.clear()
    asked = len(shop.requests)
    report = await shopify_sync(shop_settings)

    assert shop.pages_asked(ORDERS, since=asked) == ["2"]
    assert shop.pages_asked(CUSTOMERS, since=asked) == []  # every customer page was applied
    assert shop.pages_asked(PRODUCTS, since=asked) == []
    assert report.orders == 1 and await Order.all().count() == 2
    assert await SyncCursor.all().count() == 0
    assert await check.violations() == []


async def test_a_next_page_on_another_host_is_not_followed(shop_settings, shop):
    # The token goes with every request: a Link that leaves the shop is refused.
    shop.next_origin = "https://elsewhere.example"

    with pytest.raises(Unavailable, match="the next page is not on https://jsmith"):
        await shopify_sync(shop_settings)

    assert all(r.url.host == SHOP for r in shop.requests)


async def test_an_order_that_cannot_be_applied_is_parked_and_the_sync_goes_on(shop_settings, shop):
    euros = replace(shop_settings, currency="EUR")

    report = await shopify_sync(euros)

    assert report.parked == 2 and report.orders == 0
    assert report.members == 1  # the customers were applied
    assert await check.violations() == []


# -- WooCommerce ---------------------------------------------------------------------------------

WC_ORDERS = "/wp-json/wc/v3/orders"
WC_CUSTOMERS = "/wp-json/wc/v3/customers"


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> LinkPagedApi:
    store = LinkPagedApi(
        origin=SITE,
        cursor="page",
        lists={
            WC_CUSTOMERS: (None, fixture("woocommerce/customers_list.json")),
            WC_ORDERS: (None, fixture("woocommerce/orders_list.json")),
        },
    )
    monkeypatch.setattr(client_module, "TRANSPORT", store.transport)
    return store


@pytest.fixture
def site_settings(database: Settings) -> Settings:
    # The published orders are from 2017: a claim window that long keeps the guest order.
    return replace(
        database,
        woocommerce_url=SITE,
        woocommerce_consumer_key=WC_KEY,
        woocommerce_consumer_secret=Secret(WC_SECRET),
        guest_claim_days=365 * 20,
    )


async def woocommerce_sync(settings: Settings) -> sync.Report:
    async with woocommerce_api.connect(settings, BATCH) as api:
        source = sync.woocommerce_source(settings, api)
        return await sync.sync(settings, source, SINCE, page_size=1)


async def test_woocommerce_sync_enrols_records_reverses_and_credits_the_guest(site_settings, site):
    report = await woocommerce_sync(site_settings)

    assert (report.pages, report.items, report.parked) == (4, 4, 0)
    assert report.members == 2
    assert site.pages_asked(WC_ORDERS) == ["1", "2"]
    basic = base64.b64encode(f"{WC_KEY}:{WC_SECRET}".encode()).decode()
    assert all(r.headers["authorization"] == f"Basic {basic}" for r in site.requests)
    assert site.requests[-2].url.params["modified_after"] == "2005-01-01T00:00:00"
    # Order 723 of customer 26, completed, with its two listed refunds reversed once each.
    paid = await Order.get(external_id="woocommerce-723")
    assert paid.eligible_cents == 2900
    assert set(await Refund.filter(order_id=paid.id).values_list("external_id", flat=True)) == {
        "woocommerce-refund-726",
        "woocommerce-refund-724",
    }
    # Order 727 is a guest's (customer_id 0) whose e-mail is customer 25's: credited to it.
    guest = await Order.get(external_id="woocommerce-727").prefetch_related("member")
    assert guest.member.external_id == "25"
    assert (await GuestOrder.get(external_id="woocommerce-727")).claimed_by_id == guest.member.id
    assert await check.violations() == []

    again = await woocommerce_sync(site_settings)

    assert (again.members, again.orders, again.refunds) == (0, 0, 0)
    assert await check.violations() == []


# -- the command and its settings ----------------------------------------------------------------


def _env(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("LOYALTY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", settings.database_url)
    for name in KEYS:
        monkeypatch.setenv(variable(name), getattr(settings, name).value)


@pytest.mark.parametrize(
    ("platform", "needs"),
    [
        ("shopify", "LOYALTY_SHOPIFY_SHOP and LOYALTY_SHOPIFY_ACCESS_TOKEN"),
        ("woocommerce", "LOYALTY_WOOCOMMERCE_URL, LOYALTY_WOOCOMMERCE_CONSUMER_KEY and"),
    ],
)
def test_sync_command_refuses_without_the_credentials(
    settings, platform, needs, tmp_path, monkeypatch, capsys
):
    _env(settings, monkeypatch, tmp_path)

    assert cli.main(["sync", platform, "--since", "2019-01-01"]) == 2

    assert f"loyalty sync {platform} needs {needs}" in capsys.readouterr().err


def test_shopify_sync_command_pulls_the_shop(settings, tmp_path, monkeypatch, capsys):
    asyncio.run(_reset(settings))
    store = shopify_store()
    monkeypatch.setattr(client_module, "TRANSPORT", store.transport)
    _env(settings, monkeypatch, tmp_path)
    monkeypatch.setenv("LOYALTY_SHOPIFY_SHOP", SHOP)
    monkeypatch.setenv("LOYALTY_SHOPIFY_ACCESS_TOKEN", SHOP_TOKEN)

    assert cli.main(["sync", "shopify", "--since", "2005-01-01"]) == 0
    assert cli.main(["check"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "shopify since 2005-01-01T00:00:00+00:00: 5 page(s), 5 item(s): 1 member(s) "
        "enrolled, 2 order(s) recorded, 1 refund(s) or cancellation(s) reversed, "
        "0 parked in the inbox"
    )
    assert out[1].endswith(": 0 violation(s)")


async def _reset(settings: Settings) -> None:
    from loyalty import db
    from tests.support import empty_tables

    await db.init(settings, apply_migrations=False)
    try:
        if not settings.is_sqlite:  # a SQLite test database is a fresh copy already
            await empty_tables()
    finally:
        await db.close()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOYALTY_SHOPIFY_SHOP": "jsmith.example.com"}, "must be <name>.myshopify.com"),
        ({"LOYALTY_SHOPIFY_SHOP": SHOP}, "missing required settings: LOYALTY_SHOPIFY_ACCESS"),
        ({"LOYALTY_WOOCOMMERCE_URL": "http://example.com"}, "must be the site's https:// URL"),
        (
            {"LOYALTY_WOOCOMMERCE_URL": SITE, "LOYALTY_WOOCOMMERCE_CONSUMER_KEY": WC_KEY},
            "missing required settings: LOYALTY_WOOCOMMERCE_CONSUMER_SECRET",
        ),
        ({"LOYALTY_SHOPIFY_API_VERSION": "latest"}, "must look like 2026-07"),
    ],
)
def test_shop_api_settings_are_checked(env, message):
    with pytest.raises(ConfigError, match=message):
        from_env(env)
