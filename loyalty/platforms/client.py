"""Reading a shop platform's REST API politely: timeouts, bounded retries, and on ``429`` the
wait the platform asks for.

Retried, at most ``Retry.attempts`` tries in all: ``429`` after the wait its headers ask for
(``Retry-After`` in seconds or as an HTTP date; BigCommerce's ``X-Retry-After`` or
``X-Rate-Limit-Time-Reset-Ms``), else after a doubling wait; ``502``/``503``/``504`` and
transport errors (refused connections, timeouts) after a doubling wait. A platform asking for
a wait longer than ``Retry.max_wait`` is not waited for. Any other answer outside 2xx (``401``
for a wrong token, ``404``) fails at once. Every failure is ``Unavailable``, whose message
says what the platform answered: the caller parks its work, or stops and resumes later.

Bodies are parsed with ``parse_float=Decimal``, so no amount goes through a float.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
RETRIED = frozenset({429, 502, 503, 504})

TRANSPORT: httpx.AsyncBaseTransport | None = None
"""Where requests go: None is the network; the tests put a fake platform here."""
SLEEP: Sleep = asyncio.sleep
"""How the client waits; the tests record the waits instead."""


class Unavailable(Exception):
    """The platform gave no answer to work with; the message says what it answered."""


@dataclass(frozen=True)
class Retry:
    """How patient a caller is: tries in all, the longest wait honoured, the first back-off."""

    attempts: int = 3
    max_wait: float = 10.0
    base_wait: float = 1.0

    def backoff(self, attempt: int) -> float:
        """The wait after the ``attempt``-th failed try, when the platform names none."""
        return min(self.max_wait, self.base_wait * 2 ** (attempt - 1))


INTERACTIVE = Retry(attempts=3, max_wait=10.0)
"""A webhook or a replay: answered within seconds, or parked and replayed later."""
BATCH = Retry(attempts=8, max_wait=300.0)
"""A sync: it may wait minutes for a rate limit to reset."""


@dataclass(frozen=True)
class Answer:
    """A 2xx answer: its status, its JSON body (None when empty), its headers, and the pages
    its ``Link`` header names, by relation (``{"next": url}``)."""

    status: int
    body: Any
    headers: httpx.Headers
    links: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One page of a list: its items, and where the next page starts (a URL or a page number,
    as the platform pages), None after the last."""

    items: list[dict[str, Any]]
    next: str | None


class RestClient:
    """GET requests against one platform's API, with its credentials in ``http``."""

    def __init__(self, http: httpx.AsyncClient, retry: Retry, sleep: Sleep | None = None) -> None:
        self.http = http
        self.retry = retry
        self.sleep = sleep or SLEEP

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Answer:
        """GET ``path`` (or a whole URL the platform gave, such as a ``Link``); retried as the
        module says, else ``Unavailable``."""
        what = problem = f"GET {path}"
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = await self.http.get(path, params=params)
            except httpx.TransportError as exc:
                problem, wait = f"{what}: {type(exc).__name__}", self.retry.backoff(attempt)
            else:
                if response.is_success:
                    links = {
                        rel: str(link["url"])
                        for rel, link in response.links.items()
                        if isinstance(rel, str) and link.get("url")
                    }
                    body = _json(response, what)
                    return Answer(response.status_code, body, response.headers, links)
                problem = f"{what}: {response.status_code} {response.reason_phrase}".rstrip()
                if response.status_code not in RETRIED:
                    raise Unavailable(problem)
                asked = wait_asked(response.headers) if response.status_code == 429 else None
                if asked is not None and asked > self.retry.max_wait:
                    raise Unavailable(f"{problem}, retry after {asked:g}s")
                wait = self.retry.backoff(attempt) if asked is None else asked
            if attempt < self.retry.attempts:
                log.info("%s; trying again in %gs", problem, wait)
                await self.sleep(wait)
        raise Unavailable(f"{problem} ({self.retry.attempts} attempts)")


def open_client(
    base_url: str,
    headers: Mapping[str, str],
    retry: Retry,
    auth: tuple[str, str] | None = None,
) -> RestClient:
    """A client of one platform's API; close it with ``await client.http.aclose()``."""
    http = httpx.AsyncClient(
        base_url=base_url,
        headers={"Accept": "application/json", **headers},
        auth=auth,
        timeout=TIMEOUT,
        transport=TRANSPORT,
    )
    return RestClient(http, retry)


async def linked_page(
    rest: RestClient,
    origin: str,
    path: str,
    params: Mapping[str, str | int],
    start: str | None,
    items: Callable[[Any], Any],
) -> Page:
    """A page of a list paged by ``Link`` header (Shopify, WooCommerce): the first from
    ``path`` and ``params``, a later one from the URL the previous answer named (``start``);
    ``items`` takes the list out of the body. Links leave the shop's origin never."""
    if start is None:
        answer = await rest.get(path, params)
    else:
        same_origin(start, origin)
        answer = await rest.get(start)
    found = items(answer.body)
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise Unavailable(f"GET {path}: the answer has no list of objects")
    following = answer.links.get("next")
    if following is not None:
        same_origin(following, origin)
    return Page(found, following)


def same_origin(url: str, origin: str) -> None:
    """A page URL a platform names (a ``Link`` header) must stay on the shop's own origin: the
    credentials go with every request."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != origin:
        raise Unavailable(f"the next page is not on {origin}: {url[:200]}")


def wait_asked(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """The seconds a ``429`` asks to wait, or None when its headers do not say."""
    for name in ("retry-after", "x-retry-after"):
        value = headers.get(name, "").strip()
        if not value:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
    reset = headers.get("x-rate-limit-time-reset-ms", "").strip()
    try:
        return max(0.0, float(reset) / 1000) if reset else None
    except ValueError:
        return None


def _json(response: httpx.Response, what: str) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return json.loads(response.content, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise Unavailable(f"{what}: the answer is not JSON") from None
