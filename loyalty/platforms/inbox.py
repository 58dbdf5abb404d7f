"""The inbox: every correctly signed delivery from a shop platform is stored before anything
else happens, then applied; what cannot be applied is parked with its reason and replayed
later through the same path.

A delivery is stored ``parked`` ("received") and moves to ``applied`` or ``ignored`` once; a
status other than parked never changes again, so a redelivery (the same delivery id) or a
second replay applies nothing. What a delivery does is itself idempotent (order id, refund id,
member external id), which covers two workers applying the same parked delivery at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from loyalty import db
from loyalty.errors import InvalidInput, LoyaltyError, NotFound
from loyalty.paging import keyset_page
from loyalty.platforms import bigcommerce, bigcommerce_apply, shopify, woocommerce
from loyalty.platforms.apply import apply
from loyalty.platforms.commands import Command, Outcome
from loyalty.settings import Settings
from models import InboxDelivery, InboxStatus

log = logging.getLogger(__name__)

Mapper = Callable[[str, dict[str, Any], str], Command]
PLATFORMS: dict[str, Mapper] = {
    shopify.PLATFORM: shopify.command,
    woocommerce.PLATFORM: woocommerce.command,
}
"""Each platform's mapper: (topic, body, the programme's currency) to a command."""
Handler = Callable[[Settings, str, dict[str, Any]], Awaitable[Outcome]]
HANDLERS: dict[str, Handler] = {bigcommerce.PLATFORM: bigcommerce_apply.handle}
"""Platforms whose deliveries only name what changed: the handler fetches it and applies it."""
RECEIVED = "received, not applied yet"


def _max_length(column: str) -> int:
    length: int = InboxDelivery._meta.fields_map[column].max_length  # type: ignore[attr-defined]
    return length


MAX_TOPIC = _max_length("topic")
MAX_DELIVERY_ID = _max_length("delivery_id")


async def receive(
    settings: Settings, platform: str, topic: str, delivery_id: str | None, body: bytes
) -> InboxDelivery:
    """Store a signed delivery once per delivery id and apply it, unless a delivery with this
    id was already applied or ignored (then it is returned as it stands)."""
    delivery_id = delivery_key(delivery_id, body)

    async def store(conn: BaseDBAsyncClient) -> InboxDelivery:
        return await InboxDelivery.create(
            platform=platform,
            topic=topic[:MAX_TOPIC],
            delivery_id=delivery_id,
            # Bytes that are not UTF-8 are kept escaped: the text then never parses as JSON.
            body=body.decode("utf-8", errors="backslashreplace"),
            reason=RECEIVED,
            using_db=conn,
        )

    stored = partial(InboxDelivery.get_or_none, platform=platform, delivery_id=delivery_id)
    item = await db.atomic_idempotent(store, stored)
    if item.status is not InboxStatus.PARKED:
        return item
    return await _process(settings, item)


def delivery_key(delivery_id: str | None, body: bytes) -> str:
    """What a delivery is de-duplicated on: the platform's delivery id (a digest when it is
    too long to store), or without one a digest of the body."""
    if not delivery_id:
        return "sha256:" + hashlib.sha256(body).hexdigest()
    if len(delivery_id) > MAX_DELIVERY_ID:
        return "sha256:" + hashlib.sha256(delivery_id.encode()).hexdigest()
    return delivery_id


async def replay(settings: Settings, delivery_pk: int) -> InboxDelivery:
    """Apply a parked delivery again, through the same path; any other is returned as is."""
    item = await InboxDelivery.get_or_none(id=delivery_pk)
    if item is None:
        raise NotFound("delivery not found", field="id")
    if item.status is not InboxStatus.PARKED:
        return item
    return await _process(settings, item)


async def page(
    status: InboxStatus | None, first: int, before_pk: int | None
) -> tuple[list[InboxDelivery], bool]:
    """A page of deliveries, newest first, older than the cursor; and whether more follow."""
    query = InboxDelivery.all()
    if status is not None:
        query = query.filter(status=status)
    return await keyset_page(query, first, before_pk, newest_first=True)


async def _process(settings: Settings, item: InboxDelivery) -> InboxDelivery:
    try:
        handler = HANDLERS.get(item.platform)
        if handler is not None:
            outcome = await handler(settings, item.topic, parse(item.body))
        else:
            command = PLATFORMS[item.platform](item.topic, parse(item.body), settings.currency)
            outcome = await apply(settings, command)
    except LoyaltyError as exc:
        where = f" ({exc.field})" if exc.field else ""
        outcome = Outcome(InboxStatus.PARKED, f"{exc.code.value}{where}: {exc.message}")
    except Exception:
        # The delivery is stored and answered 2xx all the same: a platform that keeps getting
        # errors gives up on the subscription. The detail is in the log, not the inbox.
        log.exception("applying %s delivery %s failed", item.platform, item.delivery_id)
        outcome = Outcome(InboxStatus.PARKED, "unexpected error (see the service log)")
    now = datetime.now(UTC)
    await InboxDelivery.filter(id=item.id, status=InboxStatus.PARKED).update(
        status=outcome.status,
        reason=outcome.reason,
        attempts=F("attempts") + 1,
        updated_at=now,
        applied_at=now if outcome.status is InboxStatus.APPLIED else None,
    )
    await item.refresh_from_db()
    return item


def parse(body: str) -> dict[str, Any]:
    """A stored body as JSON: ids stay exact integers, amounts exact decimals (no floats)."""
    try:
        data = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidInput("body is nested too deeply", field="body") from None
    except (ValueError, InvalidOperation):
        raise InvalidInput("body is not JSON", field="body") from None
    if not isinstance(data, dict):
        raise InvalidInput("body must be a JSON object", field="body")
    return data


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259), though Python's parser takes them."""
    raise ValueError(f"{name} is not JSON")
