"""WooCommerce's REST API (v3), as far as ``loyalty sync woocommerce`` reads it: customers,
and orders modified since a date (an order lists its refunds), page by page.

Requests go to ``<LOYALTY_WOOCOMMERCE_URL>/wp-json/wc/v3`` over HTTPS with the REST API key
pair as HTTP Basic auth (``LOYALTY_WOOCOMMERCE_CONSUMER_KEY`` / ``_SECRET``, a key with read
access), through ``client``: timeouts, retries, ``429`` back-off. Paging follows the ``Link``
header's ``rel="next"``, as WooCommerce's docs recommend, on the site's own origin only.
WooCommerce cannot list customers by modification date, so a sync reads every customer (by
id) and the orders modified since the date.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from loyalty.platforms.client import (
    Page,
    RestClient,
    Retry,
    Unavailable,
    linked_page,
    open_client,
)
from loyalty.settings import Settings

PAGE_SIZE = 100
"""Items per page: the most WooCommerce's lists give."""


class WooCommerceApi:
    """The lists a sync walks through, one request per page."""

    def __init__(self, rest: RestClient, origin: str) -> None:
        self.rest = rest
        self.origin = origin

    async def customers(self, _: datetime, start: str | None, limit: int = PAGE_SIZE) -> Page:
        """A page of ``GET /customers``, every role, by id (not filtered by date: the API
        cannot)."""
        params: dict[str, str | int] = {
            "role": "all",
            "orderby": "id",
            "order": "asc",
            "per_page": limit,
        }
        return await self._page("customers", params, start)

    async def orders(self, since: datetime, start: str | None, limit: int = PAGE_SIZE) -> Page:
        """A page of ``GET /orders`` modified since ``since`` (UTC), by id."""
        params: dict[str, str | int] = {
            "modified_after": since.astimezone(UTC).replace(tzinfo=None).isoformat(),
            "dates_are_gmt": "true",
            "orderby": "id",
            "order": "asc",
            "per_page": limit,
        }
        return await self._page("orders", params, start)

    async def _page(self, path: str, params: dict[str, str | int], start: str | None) -> Page:
        def listed(body: Any) -> Any:
            return [] if body is None else body  # an empty list may come as no body

        return await linked_page(self.rest, self.origin, path, params, start, listed)


def configured(settings: Settings) -> bool:
    return bool(settings.woocommerce_url and settings.woocommerce_consumer_key)


@asynccontextmanager
async def connect(settings: Settings, retry: Retry) -> AsyncIterator[WooCommerceApi]:
    """The site's REST API with the configured key pair (``Unavailable`` without it)."""
    if not configured(settings):
        raise Unavailable(
            "LOYALTY_WOOCOMMERCE_URL, LOYALTY_WOOCOMMERCE_CONSUMER_KEY and "
            "LOYALTY_WOOCOMMERCE_CONSUMER_SECRET are not set"
        )
    parts = urlsplit(settings.woocommerce_url)
    rest = open_client(
        f"{settings.woocommerce_url}/wp-json/wc/v3/",
        {},
        retry,
        auth=(settings.woocommerce_consumer_key, settings.woocommerce_consumer_secret.value),
    )
    try:
        yield WooCommerceApi(rest, f"{parts.scheme}://{parts.netloc}")
    finally:
        await rest.http.aclose()
