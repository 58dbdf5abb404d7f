"""The dispatcher: signed deliveries, retries with backoff, at-least-once with unique event ids."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from loyalty.events import dispatch, signing
from loyalty.events.dispatch import EVENT_ID_HEADER, SIGNATURE_HEADER
from loyalty.ops import jobs
from loyalty.settings import ConfigError, Secret
from models import DeliveryStatus, EventDelivery, OutboxEvent
from tests.support import EVENTS_SECRET, WEBHOOK_SECRET, enroll, order

pytestmark = pytest.mark.usefixtures("database")
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
URL = "https://hooks.example.com/loyalty"


class Receiver:
    """A webhook receiver: checks signatures, processes each event id once, answers as told."""

    def __init__(self, answers: list[int | Exception] | None = None) -> None:
        self.answers = list(answers or [])
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []
        self.processed: list[dict] = []
        self.bad_signatures = 0

    async def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.calls.append((url, body, headers))
        answer = self.answers.pop(0) if self.answers else 200
        if answer == 503:
            return 503  # down: nothing processed
        if not signing.verify(body, secret=EVENTS_SECRET, signature=headers[SIGNATURE_HEADER]):
            self.bad_signatures += 1
            return 401
        if headers[EVENT_ID_HEADER] not in {e["id"] for e in self.processed}:
            self.processed.append(json.loads(body))
        if isinstance(answer, Exception):
            raise answer  # processed, but the answer never reached the dispatcher
        return answer


async def one_event(settings) -> OutboxEvent:
    await enroll()
    await order(settings, "o-1", amount="25.00")
    return await OutboxEvent.get()


async def test_a_failing_receiver_is_retried_with_backoff_until_it_succeeds(database):
    event = await one_event(database)
    receiver = Receiver([503, 503, 200])

    first = await dispatch.dispatch_once(database, T0, urls=[URL], send=receiver)
    delivery = await EventDelivery.get()
    assert (first.queued, first.retrying) == (1, 1)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 503")
    assert delivery.next_attempt_at == T0 + timedelta(seconds=30)

    early = await dispatch.dispatch_once(
        database, T0 + timedelta(seconds=29), urls=[URL], send=receiver
    )
    assert (early.delivered, early.retrying, len(receiver.calls)) == (0, 0, 1)

    second_at = T0 + timedelta(seconds=30)
    await dispatch.dispatch_once(database, second_at, urls=[URL], send=receiver)
    await delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == second_at + timedelta(seconds=60)  # doubled

    third = await dispatch.dispatch_once(
        database, delivery.next_attempt_at, urls=[URL], send=receiver
    )
    await delivery.refresh_from_db()
    assert third.delivered == 1
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, None)
    assert len(receiver.calls) == 3
    assert len({body for _, body, _ in receiver.calls}) == 1  # the same bytes every time
    assert receiver.processed == [
        {
            "id": str(event.event_id),
            "kind": "points_earned",
            "createdAt": event.created_at.isoformat(),
            "memberExternalId": "cust-1",
            "data": event.payload,
        }
    ]


async def test_a_redelivered_event_keeps_its_id_so_the_receiver_drops_the_repeat(database):
    await one_event(database)
    receiver = Receiver([ConnectionResetError("answer lost"), 200])

    await dispatch.dispatch_once(database, T0, urls=[URL], send=receiver)
    await dispatch.dispatch_once(database, T0 + timedelta(minutes=1), urls=[URL], send=receiver)

    ids = [headers[EVENT_ID_HEADER] for _, _, headers in receiver.calls]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert len(receiver.processed) == 1
    assert (await EventDelivery.get()).status == DeliveryStatus.DELIVERED


async def test_each_event_is_queued_once_per_url(database):
    await one_event(database)
    other = "https://crm.example.com/hook"
    receiver = Receiver()

    first = await dispatch.dispatch_once(database, T0, urls=[URL, other], send=receiver)
    again = await dispatch.dispatch_once(database, T0, urls=[URL, other], send=receiver)

    assert (first.queued, first.delivered) == (2, 2)
    assert (again.queued, again.delivered) == (0, 0)
    assert sorted(url for url, _, _ in receiver.calls) == sorted([URL, other])
    assert await EventDelivery.all().count() == 2


async def test_the_signature_is_base64_hmac_sha256_of_the_raw_body(database):
    await one_event(database)
    receiver = Receiver()

    await dispatch.dispatch_once(database, T0, urls=[URL], send=receiver)

    _, body, headers = receiver.calls[0]
    expected = base64.b64encode(
        hmac.new(EVENTS_SECRET.encode(), body, hashlib.sha256).digest()
    ).decode()
    assert headers[SIGNATURE_HEADER] == expected
    assert signing.verify(body, secret=EVENTS_SECRET, signature=expected)
    assert not signing.verify(body + b" ", secret=EVENTS_SECRET, signature=expected)
    assert not signing.verify(body, secret="another-secret", signature=expected)
    assert receiver.bad_signatures == 0


async def test_events_are_signed_with_the_events_secret_not_the_webhook_secret(database):
    # An event receiver holds the key it verifies with: were it the webhook secret, the receiver
    # could sign order webhooks of its own and be credited points.
    await one_event(database)
    receiver = Receiver()

    await dispatch.dispatch_once(database, T0, urls=[URL], send=receiver)

    _, body, headers = receiver.calls[0]
    assert signing.verify(body, secret=EVENTS_SECRET, signature=headers[SIGNATURE_HEADER])
    assert not signing.verify(body, secret=WEBHOOK_SECRET, signature=headers[SIGNATURE_HEADER])


async def test_dispatch_refuses_an_empty_events_secret(database):
    await one_event(database)
    receiver = Receiver()
    unkeyed = replace(database, events_secret=Secret(""))

    with pytest.raises(ConfigError, match="LOYALTY_EVENTS_SECRET"):
        await dispatch.dispatch_once(unkeyed, T0, urls=[URL], send=receiver)

    assert receiver.calls == []
    assert await EventDelivery.all().count() == 0


async def test_the_jobs_runner_refuses_an_empty_events_secret_before_any_job(database):
    await enroll()
    unkeyed = replace(database, events_secret=Secret(""))

    with pytest.raises(ConfigError, match="LOYALTY_EVENTS_SECRET"):
        await jobs.run(T0, unkeyed, webhook_urls=[URL], send=Receiver())

    assert await OutboxEvent.all().count() == 0  # no reminder written
    assert await EventDelivery.all().count() == 0


async def test_a_delivery_is_given_up_after_the_last_attempt(database):
    await one_event(database)
    receiver = Receiver([503] * dispatch.MAX_ATTEMPTS)
    at = T0
    for _ in range(dispatch.MAX_ATTEMPTS):
        await dispatch.dispatch_once(database, at, urls=[URL], send=receiver)
        at = (await EventDelivery.get()).next_attempt_at

    delivery = await EventDelivery.get()
    assert (delivery.status, delivery.attempts) == ("failed", dispatch.MAX_ATTEMPTS)
    assert delivery.last_error == "HTTP 503"
    later = await dispatch.dispatch_once(
        database, at + timedelta(days=30), urls=[URL], send=receiver
    )
    assert (later.delivered, later.failed, len(receiver.calls)) == (0, 0, dispatch.MAX_ATTEMPTS)


def test_backoff_doubles_up_to_its_cap():
    assert [dispatch.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert dispatch.backoff(30) == dispatch.MAX_DELAY


def test_webhook_urls_come_from_a_comma_separated_setting():
    env = {"LOYALTY_WEBHOOK_URLS": " https://a.example/x, http://b.example/y ,"}
    assert dispatch.urls_from_env(env) == ["https://a.example/x", "http://b.example/y"]
    assert dispatch.urls_from_env({}) == []
    with pytest.raises(dispatch.ConfigError, match="LOYALTY_WEBHOOK_URLS"):
        dispatch.urls_from_env({"LOYALTY_WEBHOOK_URLS": "ftp://c.example"})


async def test_the_jobs_runner_sends_the_reminders_it_writes(database):
    await enroll()
    receiver = Receiver()

    report = await jobs.run(T0, database, webhook_urls=[URL], send=receiver)

    assert (report.reminders, report.events.delivered) == (1, 1)
    assert [e["kind"] for e in receiver.processed] == ["reminder_due"]
    assert receiver.processed[0]["data"]["memberExternalId"] == "cust-1"


async def test_the_default_sender_posts_over_http(database):
    await one_event(database)
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        requests.append(head + await reader.readexactly(length))
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        report = await dispatch.dispatch_once(database, T0, urls=[f"http://127.0.0.1:{port}/hook"])
    finally:
        server.close()
        await server.wait_closed()

    assert report.delivered == 1
    head, _, body = requests[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /hook ")
    signature = next(
        line.split(b":", 1)[1].strip().decode()
        for line in head.split(b"\r\n")
        if line.lower().startswith(SIGNATURE_HEADER.lower().encode() + b":")
    )
    assert signing.verify(body, secret=EVENTS_SECRET, signature=signature)
