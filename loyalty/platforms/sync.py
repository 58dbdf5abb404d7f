"""``loyalty sync shopify|woocommerce|bigcommerce --since DATE``: pull what changed at the shop
since DATE, page by page, and apply it through the same code as the webhooks.

The catalogue comes first where the platform has product data the orders lack (Shopify's
product types), then customers are enrolled (or their e-mail and name brought up to date),
then orders are
brought in line (recorded when paid, refunds and cancellations reversed), then, where the
platform lists them apart (BigCommerce), refunds. Shopify and WooCommerce orders carry their
refunds. Every step is idempotent, so a second run applies nothing new.

Resumable: after each page is applied, ``sync_cursors`` keeps how many pages of that resource
are done and where the next one starts (a page number, or the URL the platform's ``Link``
header named), for this platform, resource and DATE; a sync stopped on the way (the API
unavailable past its retries, a crash) starts at the page after the last completed one when
run again with the same ``--since``. A sync that completes removes its cursors, so the next
run starts from the first page again.

An item the programme cannot apply (an order in another currency, an e-mail that is not an
address) is parked in the inbox as the webhook it stands for, where ``replayWebhook`` applies
it once the cause is fixed, and the sync goes on.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from tqdm import tqdm

from loyalty import db
from loyalty.errors import LoyaltyError
from loyalty.platforms import (
    bigcommerce,
    bigcommerce_api,
    inbox,
    shopify,
    shopify_api,
    woocommerce,
    woocommerce_api,
)
from loyalty.platforms.apply import apply
from loyalty.platforms.bigcommerce_apply import apply_order, apply_refund
from loyalty.platforms.client import BATCH, Page, Unavailable
from loyalty.platforms.commands import Command, Outcome
from loyalty.settings import ConfigError, Settings
from models import InboxStatus, Member, Order, Refund, SyncCursor

Fetch = Callable[[datetime, str | None, int], Awaitable[Page]]
"""A page of a resource changed since a date, starting where the previous page said."""
ApplyItem = Callable[[dict[str, Any]], Awaitable[Outcome]]
StandIn = Callable[[str, dict[str, Any]], tuple[str, str, dict[str, Any]]]
"""The webhook an item stands for, to park it: its topic, a delivery id and its body."""


@dataclass(frozen=True)
class Resource:
    name: str
    fetch: Fetch
    apply: ApplyItem


@dataclass(frozen=True)
class Source:
    """A platform's API as a sync reads it: its resources in the order they are pulled."""

    platform: str
    resources: tuple[Resource, ...]
    stand_in: StandIn
    page_size: int


@dataclass
class Report:
    """What a sync did: pages and items read, and the rows it added."""

    pages: int = 0
    items: int = 0
    parked: int = 0
    members: int = 0
    orders: int = 0
    refunds: int = 0

    def __str__(self) -> str:
        return (
            f"{self.pages} page(s), {self.items} item(s): {self.members} member(s) enrolled, "
            f"{self.orders} order(s) recorded, {self.refunds} refund(s) or cancellation(s) "
            f"reversed, {self.parked} parked in the inbox"
        )


def bigcommerce_source(settings: Settings, api: bigcommerce_api.BigCommerceApi) -> Source:
    """BigCommerce: V3 customers, V2 orders (fetched with their products), V3 refunds."""

    def numbered(pages: Callable[[datetime, int, int], Awaitable[Page]]) -> Fetch:
        return lambda since, start, size: pages(since, int(start or 1), size)

    async def customer(item: dict[str, Any]) -> Outcome:
        return await apply(settings, bigcommerce.customer_command(item))

    async def order(item: dict[str, Any]) -> Outcome:
        return await apply_order(settings, api, item)

    async def refund(item: dict[str, Any]) -> Outcome:
        return await apply_refund(settings, item)

    return Source(
        bigcommerce.PLATFORM,
        (
            Resource("customers", numbered(api.customers), customer),
            Resource("orders", numbered(api.orders), order),
            Resource("refunds", numbered(api.refunds), refund),
        ),
        bigcommerce.stand_in,
        bigcommerce_api.PAGE_SIZE,
    )


def _webhook_source(
    settings: Settings,
    platform: str,
    mapper: Callable[[str, dict[str, Any], str], Command],
    topics: Mapping[str, tuple[Fetch, str]],
    page_size: int,
) -> Source:
    """A platform whose REST items are its webhook bodies: each item goes through the
    webhook's own mapper under the topic of an update."""

    def applier(topic: str) -> ApplyItem:
        return lambda item: apply(settings, mapper(topic, item, settings.currency))

    def stand_in(resource: str, item: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        topic = topics[resource][1]
        changed = item.get("updated_at") or item.get("date_modified_gmt") or ""
        return topic, f"sync:{topic}:{item.get('id')}:{changed}", item

    resources = tuple(
        Resource(name, fetch, applier(topic)) for name, (fetch, topic) in topics.items()
    )
    return Source(platform, resources, stand_in, page_size)


def shopify_source(settings: Settings, api: shopify_api.ShopifyApi) -> Source:
    """Shopify: products (their types are the lines' categories), customers, then orders
    (each with its refunds), as ``products/update``, ``customers/update`` and ``orders/updated``
    webhooks."""
    topics: dict[str, tuple[Fetch, str]] = {
        "products": (api.products, "products/update"),
        "customers": (api.customers, "customers/update"),
        "orders": (api.orders, "orders/updated"),
    }
    return _webhook_source(
        settings, shopify.PLATFORM, shopify.command, topics, shopify_api.PAGE_SIZE
    )


def woocommerce_source(settings: Settings, api: woocommerce_api.WooCommerceApi) -> Source:
    """WooCommerce: customers, then orders (each listing its refunds), as ``customer.updated``
    and ``order.updated`` webhooks."""
    topics: dict[str, tuple[Fetch, str]] = {
        "customers": (api.customers, "customer.updated"),
        "orders": (api.orders, "order.updated"),
    }
    return _webhook_source(
        settings, woocommerce.PLATFORM, woocommerce.command, topics, woocommerce_api.PAGE_SIZE
    )


async def sync(
    settings: Settings,
    source: Source,
    since: datetime,
    *,
    page_size: int | None = None,
    progress: bool = False,
) -> Report:
    """Pull and apply every page since ``since``, resuming after the last completed one."""
    report = Report()
    before = await _counts()
    size = page_size or source.page_size
    for resource in source.resources:
        await _pull(settings, source, resource, since, size, progress, report)
    await SyncCursor.filter(platform=source.platform, since=since.isoformat()).delete()
    members, orders, refunds = await _counts()
    report.members, report.orders, report.refunds = (
        members - before[0],
        orders - before[1],
        refunds - before[2],
    )
    return report


async def _pull(
    settings: Settings,
    source: Source,
    resource: Resource,
    since: datetime,
    page_size: int,
    progress: bool,
    report: Report,
) -> None:
    """One resource, from the page after its cursor to the last; the cursor moves on after
    each page is applied."""
    cursor, _ = await SyncCursor.get_or_create(
        platform=source.platform, resource=resource.name, since=since.isoformat()
    )
    if cursor.page > 0 and cursor.next is None:
        return  # every page of it was applied by an earlier run
    start = cursor.next if cursor.page > 0 else None
    pages = cursor.page
    with tqdm(
        desc=f"{source.platform} {resource.name}",
        unit="page",
        initial=pages,
        file=sys.stderr,
        disable=not progress,
    ) as bar:
        while True:
            found = await resource.fetch(since, start, page_size)
            for item in found.items:
                status = await _apply_or_park(settings, source, resource, item)
                report.items += 1
                if status is InboxStatus.PARKED:
                    report.parked += 1
            pages += 1
            await SyncCursor.filter(id=cursor.id).update(
                page=pages, next=found.next, updated_at=datetime.now(UTC)
            )
            report.pages += 1
            bar.update(1)
            bar.set_postfix(items=report.items, parked=report.parked, refresh=False)
            if found.next is None:
                return
            start = found.next


async def _counts() -> tuple[int, int, int]:
    return (await Member.all().count(), await Order.all().count(), await Refund.all().count())


async def _apply_or_park(
    settings: Settings, source: Source, resource: Resource, item: dict[str, Any]
) -> InboxStatus:
    try:
        return (await resource.apply(item)).status
    except LoyaltyError:
        # Kept as the webhook it stands for: the inbox applies it again, stores the reason
        # and lets replayWebhook apply it once the cause is fixed.
        topic, delivery_id, body = source.stand_in(resource.name, item)
        parked = await inbox.receive(
            settings, source.platform, topic, delivery_id, json.dumps(body, default=str).encode()
        )
        return parked.status


def parse_since(text: str) -> datetime:
    """``--since``: an ISO date or date-time, UTC unless it carries an offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@asynccontextmanager
async def connect(settings: Settings, platform: str) -> AsyncIterator[Source]:
    """The platform's API as a source, with the configured credentials."""
    if platform == bigcommerce.PLATFORM:
        async with bigcommerce_api.connect(settings, BATCH) as bc:
            yield bigcommerce_source(settings, bc)
    elif platform == shopify.PLATFORM:
        async with shopify_api.connect(settings, BATCH) as shop:
            yield shopify_source(settings, shop)
    elif platform == woocommerce.PLATFORM:
        async with woocommerce_api.connect(settings, BATCH) as wc:
            yield woocommerce_source(settings, wc)
    else:
        raise ConfigError(f"no sync for {platform!r}")


CREDENTIALS = {
    bigcommerce.PLATFORM: (
        bigcommerce_api.configured,
        "LOYALTY_BIGCOMMERCE_STORE_HASH and LOYALTY_BIGCOMMERCE_ACCESS_TOKEN",
    ),
    shopify.PLATFORM: (
        shopify_api.configured,
        "LOYALTY_SHOPIFY_SHOP and LOYALTY_SHOPIFY_ACCESS_TOKEN",
    ),
    woocommerce.PLATFORM: (
        woocommerce_api.configured,
        "LOYALTY_WOOCOMMERCE_URL, LOYALTY_WOOCOMMERCE_CONSUMER_KEY and "
        "LOYALTY_WOOCOMMERCE_CONSUMER_SECRET",
    ),
}
"""What each platform's sync needs set."""


async def main(settings: Settings, platform: str, since: str) -> int:
    """``loyalty sync PLATFORM``: open the database, pull, print what happened."""
    try:
        moment = parse_since(since)
    except ValueError:
        print(f"--since must be an ISO date or date-time, got {since!r}", file=sys.stderr)
        return 2
    configured, names = CREDENTIALS[platform]
    if not configured(settings):
        raise ConfigError(f"loyalty sync {platform} needs {names}")
    await db.init(settings)
    try:
        async with connect(settings, platform) as source:
            report = await sync(settings, source, moment, progress=True)
    except (Unavailable, LoyaltyError) as exc:
        print(f"sync stopped: {exc}; run the same command again to resume", file=sys.stderr)
        return 1
    finally:
        await db.close()
    print(f"{platform} since {moment.isoformat()}: {report}")
    return 0
