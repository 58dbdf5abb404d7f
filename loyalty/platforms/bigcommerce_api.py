"""BigCommerce's REST API, as far as the connector reads it: an order with its products and
refunds, a customer, and the pages a sync walks through.

Requests go to ``https://api.bigcommerce.com/stores/<LOYALTY_BIGCOMMERCE_STORE_HASH>`` with
``X-Auth-Token: <LOYALTY_BIGCOMMERCE_ACCESS_TOKEN>`` (a store API account that may read orders,
customers and transactions), through ``client``: timeouts, retries, ``429`` back-off. Paging:
V2 lists end with a page shorter than ``limit`` (or ``204 No Content``); V3 lists say
``meta.pagination.total_pages``, else the same short-page rule.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from loyalty.platforms.client import Answer, Page, RestClient, Retry, Unavailable, open_client
from loyalty.settings import Settings

API_URL = "https://api.bigcommerce.com"
PAGE_SIZE = 250
"""Items per page: the most BigCommerce's V2 and V3 lists give."""


class BigCommerceApi:
    """The calls, each one request (or one request per page of a list)."""

    def __init__(self, rest: RestClient) -> None:
        self.rest = rest

    async def order(self, order_id: str) -> dict[str, Any]:
        """``GET /v2/orders/{id}``."""
        path = f"/v2/orders/{order_id}"
        return _object((await self.rest.get(path)).body, path)

    async def order_products(self, order_id: str) -> list[dict[str, Any]]:
        """``GET /v2/orders/{id}/products``, every page."""
        path = f"/v2/orders/{order_id}/products"
        products: list[dict[str, Any]] = []
        page = 1
        while True:
            answer = await self.rest.get(path, _paging(page, PAGE_SIZE))
            found = _v2_page(answer, path, page, PAGE_SIZE)
            products += found.items
            if found.next is None:
                return products
            page += 1

    async def order_refunds(self, order_id: str) -> list[dict[str, Any]]:
        """``GET /v3/orders/{id}/payment_actions/refunds`` (one list, by refund id)."""
        path = f"/v3/orders/{order_id}/payment_actions/refunds"
        return _v3_page(await self.rest.get(path), path, 1, None).items

    async def customer(self, customer_id: str) -> dict[str, Any] | None:
        """``GET /v3/customers?id:in={id}``: the customer, or None when there is none."""
        path = "/v3/customers"
        answer = await self.rest.get(path, {"id:in": customer_id})
        found = _v3_page(answer, path, 1, None).items
        return found[0] if found else None

    async def orders(self, since: datetime, page: int, limit: int = PAGE_SIZE) -> Page:
        """A page of ``GET /v2/orders`` modified since ``since``, by id (so a change does not
        move an order to another page)."""
        params = {"min_date_modified": since.isoformat(), "sort": "id:asc"} | _paging(page, limit)
        return _v2_page(await self.rest.get("/v2/orders", params), "/v2/orders", page, limit)

    async def customers(self, since: datetime, page: int, limit: int = PAGE_SIZE) -> Page:
        """A page of ``GET /v3/customers`` modified since ``since``."""
        params: dict[str, str | int] = {
            "date_modified:min": since.isoformat(),
            "sort": "date_created:asc",  # a change does not move a customer to another page
        }
        answer = await self.rest.get("/v3/customers", params | _paging(page, limit))
        return _v3_page(answer, "/v3/customers", page, limit)

    async def refunds(self, since: datetime, page: int, limit: int = PAGE_SIZE) -> Page:
        """A page of ``GET /v3/orders/payment_actions/refunds`` created since ``since``."""
        path = "/v3/orders/payment_actions/refunds"
        answer = await self.rest.get(
            path, {"created:min": since.isoformat()} | _paging(page, limit)
        )
        return _v3_page(answer, path, page, limit)


def configured(settings: Settings) -> bool:
    return bool(settings.bigcommerce_store_hash and settings.bigcommerce_access_token)


@asynccontextmanager
async def connect(settings: Settings, retry: Retry) -> AsyncIterator[BigCommerceApi]:
    """The store's API with the configured credentials (``Unavailable`` without them)."""
    if not configured(settings):
        raise Unavailable(
            "LOYALTY_BIGCOMMERCE_STORE_HASH and LOYALTY_BIGCOMMERCE_ACCESS_TOKEN are not set"
        )
    rest = open_client(
        f"{API_URL}/stores/{settings.bigcommerce_store_hash}",
        {"X-Auth-Token": settings.bigcommerce_access_token.value},
        retry,
    )
    try:
        yield BigCommerceApi(rest)
    finally:
        await rest.http.aclose()


def _paging(page: int, limit: int) -> dict[str, str | int]:
    return {"page": page, "limit": limit}


def _object(body: Any, path: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Unavailable(f"GET {path}: the answer is not a JSON object")
    return body


def _objects(items: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise Unavailable(f"GET {path}: the answer is not a list of objects")
    return items


def _after(page: int, last: bool) -> str | None:
    return None if last else str(page + 1)


def _v2_page(answer: Answer, path: str, page: int, limit: int) -> Page:
    """A V2 list: a JSON array; ``204`` (no body) past the last page."""
    if answer.body is None:
        return Page([], next=None)
    items = _objects(answer.body, path)
    return Page(items, _after(page, len(items) < limit))


def _v3_page(answer: Answer, path: str, page: int, limit: int | None) -> Page:
    """A V3 list: ``{data: [...], meta: {pagination: {current_page, total_pages}}}``."""
    body = _object(answer.body, path)
    items = _objects(body.get("data"), f"{path} data")
    meta = body.get("meta")
    paging = meta.get("pagination") if isinstance(meta, dict) else None
    if isinstance(paging, dict):
        current, total = paging.get("current_page"), paging.get("total_pages")
        if isinstance(current, int) and isinstance(total, int):
            return Page(items, _after(page, current >= total))
    return Page(items, _after(page, limit is None or len(items) < limit))
