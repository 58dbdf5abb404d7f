"""Delivering outbox events to webhook URLs: signed, retried with backoff, at least once.

Each run fans new events out into one delivery row per configured URL, then sends the due
ones. A delivery is claimed with a conditional update (its ``attempts`` moves on by one and its
next attempt is pushed a lease ahead), so two dispatchers never send the same attempt, and a
dispatcher that dies mid-send leaves a row that is retried when the lease runs out.

What a receiver gets: ``POST`` with a JSON body ``{id, kind, createdAt, memberExternalId,
data}`` and the headers

- ``X-Loyalty-Event-Id``: the event's unique id; the same event may arrive more than once
  (at-least-once), so a receiver keeps the ids it has processed and drops repeats;
- ``X-Loyalty-Hmac-Sha256``: base64(HMAC-SHA256(raw body, events secret)), see
  :func:`loyalty.events.signing.verify`.

Events are signed with their own key (``LOYALTY_EVENTS_SECRET``), never with the secret that
incoming order webhooks are checked with: a receiver holds the key it verifies with, and with
the webhook secret it could sign orders of its own. No run starts with an empty key.

A 2xx answer marks the delivery delivered; anything else (or no answer) is retried after
``BASE_DELAY * 2**(attempts - 1)`` (capped at ``MAX_DELAY``) until ``MAX_ATTEMPTS``, then the
delivery is marked failed with its last error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty import db
from loyalty.errors import InvalidInput, NotFound
from loyalty.events.signing import sign
from loyalty.paging import keyset_page
from loyalty.settings import ConfigError, Settings
from models import DeliveryStatus, EventDelivery, Member

EVENT_ID_HEADER = "X-Loyalty-Event-Id"
SIGNATURE_HEADER = "X-Loyalty-Hmac-Sha256"
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
MAX_ATTEMPTS = 12
LEASE = timedelta(minutes=5)
BATCH = 100
TIMEOUT_SECONDS = 10.0

Sender = Callable[[str, bytes, dict[str, str]], Awaitable[int]]
"""Posts ``body`` with ``headers`` to a URL and returns the HTTP status (raises when no answer)."""


def signing_key(settings: Settings) -> str:
    """The key outgoing events are signed with; refuses to go on without one."""
    if not settings.events_secret:
        raise ConfigError(
            "LOYALTY_EVENTS_SECRET is empty: anyone could sign events with an empty key"
        )
    return settings.events_secret.value


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: doubling, capped."""
    return min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))


def urls_from_env(env: Mapping[str, str] | None = None) -> list[str]:
    """``LOYALTY_WEBHOOK_URLS``: comma-separated http(s) URLs (none: nothing is sent)."""
    env = os.environ if env is None else env
    urls = [u.strip() for u in env.get("LOYALTY_WEBHOOK_URLS", "").split(",") if u.strip()]
    for url in urls:
        if not url.startswith(("http://", "https://")) or len(url) > 1024:
            raise ConfigError(f"LOYALTY_WEBHOOK_URLS: not an http(s) URL: {url!r}")
    return urls


@dataclass
class DispatchReport:
    queued: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return (
            f"events: {self.queued} queued, {self.delivered} delivered, "
            f"{self.retrying} to retry, {self.failed} failed"
        )


_FAN_OUT = """
INSERT INTO event_deliveries (event_id, url, status, attempts, next_attempt_at, created_at)
SELECT e.id, CAST($1 AS VARCHAR(1024)), $3, 0, $2, $2 FROM outbox_events e
WHERE NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = e.id AND d.url = $1)
ON CONFLICT (event_id, url) DO NOTHING
RETURNING id
"""

_CLAIM = """
UPDATE event_deliveries SET attempts = attempts + 1, next_attempt_at = $1
WHERE id = $2 AND status = $4 AND attempts = $3
"""


async def enqueue(urls: Sequence[str], now: datetime) -> int:
    """One pending delivery per event and URL that has none yet; how many were added."""
    conn = db.connection()
    # RETURNING counts the rows on both backends (an INSERT's status line does not).
    pending = DeliveryStatus.PENDING.value
    return sum([len(await db.fetch(conn, _FAN_OUT, url, now, pending)) for url in urls])


def body(delivery: EventDelivery, external_ids: Mapping[int, str]) -> bytes:
    """The JSON a receiver gets for this delivery's event (the same bytes on every retry)."""
    event = delivery.event
    envelope: dict[str, Any] = {
        "id": str(event.event_id),
        "kind": event.kind,
        "createdAt": event.created_at.isoformat(),
        "memberExternalId": external_ids.get(event.member_id) if event.member_id else None,
        "data": event.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


async def dispatch_once(
    settings: Settings,
    now: datetime | None = None,
    *,
    urls: Sequence[str],
    send: Sender | None = None,
    batch: int = BATCH,
) -> DispatchReport:
    """Queue new events for ``urls`` and attempt every delivery due at ``now`` once."""
    secret = signing_key(settings)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    report = DispatchReport(queued=await enqueue(urls, now))
    if not urls:
        return report
    if send is None:
        import httpx

        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:

            async def post(url: str, content: bytes, headers: dict[str, str]) -> int:
                return (await client.post(url, content=content, headers=headers)).status_code

            await _deliver_due(report, now, list(urls), post, secret, batch)
    else:
        await _deliver_due(report, now, list(urls), send, secret, batch)
    return report


async def _deliver_due(
    report: DispatchReport,
    now: datetime,
    urls: list[str],
    send: Sender,
    secret: str,
    batch: int,
) -> None:
    due = await (
        EventDelivery.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, url__in=urls)
        .order_by("next_attempt_at", "id")
        .limit(batch)
        .prefetch_related("event")
    )
    member_ids = {d.event.member_id for d in due if d.event.member_id is not None}
    external_ids = dict(await Member.filter(id__in=member_ids).values_list("id", "external_id"))
    conn = db.connection()
    for delivery in due:
        claimed = await db.execute(
            conn, _CLAIM, now + LEASE, delivery.id, delivery.attempts, DeliveryStatus.PENDING.value
        )
        if claimed != 1:
            continue  # another dispatcher has it
        attempts = delivery.attempts + 1
        content = body(delivery, external_ids)
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: str(delivery.event.event_id),
            SIGNATURE_HEADER: sign(content, secret),
        }
        try:
            status = await send(delivery.url, content, headers)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except Exception as exc:  # any failure to get an answer is retried
            error = f"{type(exc).__name__}: {exc}"[:2000]
        await _settle(delivery.id, attempts, now, error, report)


async def _settle(
    delivery_id: int, attempts: int, now: datetime, error: str | None, report: DispatchReport
) -> None:
    rows = EventDelivery.filter(id=delivery_id, attempts=attempts)
    if error is None:
        await rows.update(status=DeliveryStatus.DELIVERED, delivered_at=now, last_error=None)
        report.delivered += 1
    elif attempts >= MAX_ATTEMPTS:
        await rows.update(status=DeliveryStatus.FAILED, last_error=error)
        report.failed += 1
    else:
        await rows.update(next_attempt_at=now + backoff(attempts), last_error=error)
        report.retrying += 1


async def retry(delivery_id: int, now: datetime | None = None) -> EventDelivery:
    """Send a failed delivery again from the next dispatch on, with a fresh count of attempts.
    Only a failed one: a pending one is already going to be sent and a delivered one is done."""
    now = now or datetime.now(UTC)
    retried = await EventDelivery.filter(id=delivery_id, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now
    )
    delivery = await EventDelivery.get_or_none(id=delivery_id).prefetch_related("event")
    if delivery is None:
        raise NotFound("delivery not found", field="id")
    if not retried:
        raise InvalidInput(
            f"only a failed delivery can be retried (this one is {delivery.status.name.lower()})",
            field="id",
        )
    return delivery


async def deliveries(
    first: int, before_id: int | None, status: DeliveryStatus | None
) -> tuple[list[EventDelivery], bool]:
    """A page of deliveries, newest first, older than the cursor; and whether more follow."""
    query = EventDelivery.all().prefetch_related("event")
    if status is not None:
        query = query.filter(status=status)
    return await keyset_page(query, first, before_id, newest_first=True)


async def main(settings: Settings, now: datetime | None = None) -> int:
    """``loyalty dispatch``: deliver what is due once, with URLs from LOYALTY_WEBHOOK_URLS."""
    urls = urls_from_env()
    await db.init(settings)
    try:
        report = await dispatch_once(settings, now, urls=urls)
    finally:
        await db.close()
    print(report)
    return 0
