"""``loyalty sync bigcommerce --since DATE``: pull what changed at the store since DATE, page by
page, and apply it through the same code as the callbacks (``bigcommerce_apply``).

Customers modified since DATE are enrolled, then orders modified since DATE are brought in
line (recorded when paid, refunds and cancellations reversed), then refunds created since
DATE are reversed. Every step is idempotent, so a second run applies nothing new.

Resumable: after each page is applied, ``sync_cursors`` keeps its number for this platform,
resource and DATE; a sync stopped on the way (the API unavailable past its retries, a crash)
starts after the last completed page when run again with the same ``--since``. A sync that
completes removes its cursors, so the next run starts from the first page again.

An item the programme cannot apply (an order in another currency, an e-mail that is not an
address) is parked in the inbox as the callback it stands for, where ``replayWebhook`` applies
it once the cause is fixed, and the sync goes on.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from tqdm import tqdm

from loyalty import db
from loyalty.errors import LoyaltyError
from loyalty.platforms import bigcommerce, inbox
from loyalty.platforms.apply import apply
from loyalty.platforms.bigcommerce_api import (
    PAGE_SIZE,
    BigCommerceApi,
    Page,
    configured,
    connect,
)
from loyalty.platforms.bigcommerce_apply import apply_order, apply_refund
from loyalty.platforms.client import BATCH, Unavailable
from loyalty.platforms.commands import Outcome
from loyalty.settings import ConfigError, Settings
from models import InboxStatus, Member, Order, Refund, SyncCursor

Pages = Callable[[BigCommerceApi, datetime, int, int], Awaitable[Page]]
Apply = Callable[[Settings, BigCommerceApi, dict[str, Any]], Awaitable[Outcome]]


async def _customer(settings: Settings, _: BigCommerceApi, item: dict[str, Any]) -> Outcome:
    return await apply(settings, bigcommerce.customer_command(item))


async def _order(settings: Settings, api: BigCommerceApi, item: dict[str, Any]) -> Outcome:
    return await apply_order(settings, api, item)


async def _refund(settings: Settings, _: BigCommerceApi, item: dict[str, Any]) -> Outcome:
    return await apply_refund(settings, item)


RESOURCES: dict[str, tuple[Pages, Apply]] = {
    "customers": (BigCommerceApi.customers, _customer),
    "orders": (BigCommerceApi.orders, _order),
    "refunds": (BigCommerceApi.refunds, _refund),
}
"""In the order they are pulled: members first, then their orders, then refunds."""


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


async def sync_bigcommerce(
    settings: Settings,
    api: BigCommerceApi,
    since: datetime,
    *,
    page_size: int = PAGE_SIZE,
    progress: bool = False,
) -> Report:
    """Pull and apply every page since ``since``, resuming after the last completed one."""
    report = Report()
    before = await _counts()
    for resource in RESOURCES:
        await _pull(settings, api, resource, since, page_size, progress, report)
    await SyncCursor.filter(platform=bigcommerce.PLATFORM, since=since.isoformat()).delete()
    members, orders, refunds = await _counts()
    report.members, report.orders, report.refunds = (
        members - before[0],
        orders - before[1],
        refunds - before[2],
    )
    return report


async def _pull(
    settings: Settings,
    api: BigCommerceApi,
    resource: str,
    since: datetime,
    page_size: int,
    progress: bool,
    report: Report,
) -> None:
    """One resource, from the page after its cursor to the last; the cursor moves on after
    each page is applied."""
    pages, apply_item = RESOURCES[resource]
    cursor, _ = await SyncCursor.get_or_create(
        platform=bigcommerce.PLATFORM, resource=resource, since=since.isoformat()
    )
    page = cursor.page + 1
    with tqdm(
        desc=f"bigcommerce {resource}",
        unit="page",
        initial=cursor.page,
        file=sys.stderr,
        disable=not progress,
    ) as bar:
        while True:
            found = await pages(api, since, page, page_size)
            for item in found.items:
                status = await _apply_or_park(settings, api, resource, apply_item, item)
                report.items += 1
                if status is InboxStatus.PARKED:
                    report.parked += 1
            await SyncCursor.filter(id=cursor.id).update(page=page, updated_at=datetime.now(UTC))
            report.pages += 1
            bar.update(1)
            bar.set_postfix(items=report.items, parked=report.parked, refresh=False)
            if found.last:
                return
            page += 1


async def _counts() -> tuple[int, int, int]:
    return (await Member.all().count(), await Order.all().count(), await Refund.all().count())


async def _apply_or_park(
    settings: Settings,
    api: BigCommerceApi,
    resource: str,
    apply_item: Apply,
    item: dict[str, Any],
) -> InboxStatus:
    try:
        return (await apply_item(settings, api, item)).status
    except LoyaltyError:
        # Kept as the callback it stands for: the inbox fetches it again, stores the reason
        # and lets replayWebhook apply it once the cause is fixed.
        scope, delivery_id, body = bigcommerce.stand_in(resource, item)
        parked = await inbox.receive(
            settings, bigcommerce.PLATFORM, scope, delivery_id, json.dumps(body).encode()
        )
        return parked.status


def parse_since(text: str) -> datetime:
    """``--since``: an ISO date or date-time, UTC unless it carries an offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def main(settings: Settings, since: str) -> int:
    """``loyalty sync bigcommerce``: open the database, pull, print what happened."""
    try:
        moment = parse_since(since)
    except ValueError:
        print(f"--since must be an ISO date or date-time, got {since!r}", file=sys.stderr)
        return 2
    if not configured(settings):
        raise ConfigError(
            "loyalty sync bigcommerce needs LOYALTY_BIGCOMMERCE_STORE_HASH and "
            "LOYALTY_BIGCOMMERCE_ACCESS_TOKEN"
        )
    await db.init(settings)
    try:
        async with connect(settings, BATCH) as api:
            report = await sync_bigcommerce(settings, api, moment, progress=True)
    except (Unavailable, LoyaltyError) as exc:
        print(f"sync stopped: {exc}; run the same command again to resume", file=sys.stderr)
        return 1
    finally:
        await db.close()
    print(f"bigcommerce since {moment.isoformat()}: {report}")
    return 0
