"""Shopify's Admin REST API, as far as ``loyalty sync shopify`` reads it: products, customers
and orders updated since a date (an order carries its refunds), page by page.

Requests go to ``https://<LOYALTY_SHOPIFY_SHOP>/admin/api/<LOYALTY_SHOPIFY_API_VERSION>`` with
``X-Shopify-Access-Token`` (a custom app's Admin API token with ``read_products``,
``read_customers`` and ``read_orders``; ``read_all_orders`` for orders older than 60 days),
through ``client``: timeouts, retries, ``429`` back-off with ``Retry-After``. Paging is
Shopify's cursor paging: each answer's ``Link`` header names the next page (``page_info``), and
a next page's URL is followed as given, never built.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from loyalty.platforms.client import (
    Page,
    RestClient,
    Retry,
    Unavailable,
    linked_page,
    open_client,
)
from loyalty.settings import Settings

PAGE_SIZE = 250
"""Items per page: the most Shopify's REST lists give."""


class ShopifyApi:
    """The lists a sync walks through, one request per page."""

    def __init__(self, rest: RestClient, origin: str) -> None:
        self.rest = rest
        self.origin = origin

    async def products(self, since: datetime, start: str | None, limit: int = PAGE_SIZE) -> Page:
        """A page of ``GET /products.json`` updated since ``since``."""
        params: dict[str, str | int] = {"updated_at_min": since.isoformat(), "limit": limit}
        return await self._page("products.json", "products", params, start)

    async def customers(self, since: datetime, start: str | None, limit: int = PAGE_SIZE) -> Page:
        """A page of ``GET /customers.json`` updated since ``since``."""
        params: dict[str, str | int] = {"updated_at_min": since.isoformat(), "limit": limit}
        return await self._page("customers.json", "customers", params, start)

    async def orders(self, since: datetime, start: str | None, limit: int = PAGE_SIZE) -> Page:
        """A page of ``GET /orders.json?status=any`` updated since ``since`` (open, closed
        and cancelled: a cancellation is news to the programme too)."""
        params: dict[str, str | int] = {
            "status": "any",
            "updated_at_min": since.isoformat(),
            "limit": limit,
        }
        return await self._page("orders.json", "orders", params, start)

    async def _page(
        self, path: str, key: str, params: dict[str, str | int], start: str | None
    ) -> Page:
        def listed(body: Any) -> Any:
            return body.get(key) if isinstance(body, dict) else None

        return await linked_page(self.rest, self.origin, path, params, start, listed)


def configured(settings: Settings) -> bool:
    return bool(settings.shopify_shop and settings.shopify_access_token)


@asynccontextmanager
async def connect(settings: Settings, retry: Retry) -> AsyncIterator[ShopifyApi]:
    """The shop's Admin API with the configured token (``Unavailable`` without it)."""
    if not configured(settings):
        raise Unavailable("LOYALTY_SHOPIFY_SHOP and LOYALTY_SHOPIFY_ACCESS_TOKEN are not set")
    origin = f"https://{settings.shopify_shop}"
    rest = open_client(
        f"{origin}/admin/api/{settings.shopify_api_version}/",
        {"X-Shopify-Access-Token": settings.shopify_access_token.value},
        retry,
    )
    try:
        yield ShopifyApi(rest, origin)
    finally:
        await rest.http.aclose()
