"""A local fake of BigCommerce's REST API (httpx.MockTransport) serving the published samples.

Every object it serves is a sample from tests/fixtures/platforms/bigcommerce (SOURCES.md) with
only the fields a test names changed: the V2 order (``v2_order.json``), its products
(``v2_order_products.json``), a V3 refund (``v3_refund.json``) and a V3 customer
(``v3_customers.json``, which has no ``id`` in the sample: the fake gives it one). Lists are
paged the way the API pages them: V2 with ``page``/``limit`` and ``204`` past the end, V3 with
``meta.pagination``. ``outage`` lets a test answer a request its own way (a ``503``, a
``429``); ``requests`` is what the fake was asked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "platforms" / "bigcommerce"
STORE_HASH = "abc123"
ACCESS_TOKEN = "test-bigcommerce-access-token"
STATUS_NAMES = {
    0: "Incomplete",
    1: "Pending",
    2: "Shipped",
    3: "Partially Shipped",
    4: "Refunded",
    5: "Cancelled",
    6: "Declined",
    7: "Awaiting Payment",
    8: "Awaiting Pickup",
    9: "Awaiting Shipment",
    10: "Completed",
    11: "Awaiting Fulfillment",
    12: "Manual Verification Required",
    13: "Disputed",
    14: "Partially Refunded",
}


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sample(name: str) -> Any:
    return json.loads(raw(name))


def order(order_id: int, status_id: int = 11, **changes: Any) -> dict[str, Any]:
    """The published V2 order as order ``order_id`` in status ``status_id``, then ``changes``."""
    body: dict[str, Any] = sample("v2_order.json")
    name = STATUS_NAMES[status_id]
    body.update(id=order_id, status_id=status_id, status=name, custom_status=name)
    body["products"] = {
        "url": f"https://api.bigcommerce.com/stores/{{store_hash}}/v2/orders/{order_id}/products",
        "resource": f"/orders/{order_id}/products",
    }
    body.update(changes)
    return body


def products(order_id: int) -> list[dict[str, Any]]:
    """The published products of an order (two lines: 55.99 and a bundled 0.00), of this one."""
    lines: list[dict[str, Any]] = sample("v2_order_products.json")
    for line in lines:
        line["order_id"] = order_id
    return lines


def refund(refund_id: int, order_id: int, amount: int | str) -> dict[str, Any]:
    """The published V3 refund as refund ``refund_id`` of ``order_id`` for ``amount``."""
    body: dict[str, Any] = sample("v3_refund.json")["data"]
    body.update(id=refund_id, order_id=order_id, total_amount=amount)
    body["payments"][0]["amount"] = amount
    return body


def customer(customer_id: int, **changes: Any) -> dict[str, Any]:
    """The published V3 customer with an ``id`` (the sample has none), then ``changes``."""
    body: dict[str, Any] = sample("v3_customers.json")["data"][0]
    body.update(id=customer_id, **changes)
    return body


Outage = Callable[[httpx.Request], httpx.Response | None]


class FakeBigCommerce:
    """One store: its orders, products, refunds and customers, served over V2 and V3."""

    def __init__(self) -> None:
        self.orders: dict[int, dict[str, Any]] = {}
        self.products: dict[int, list[dict[str, Any]]] = {}
        self.refunds: dict[int, list[dict[str, Any]]] = {}
        self.customers: dict[int, dict[str, Any]] = {}
        self.requests: list[httpx.Request] = []
        self.outage: Outage | None = None
        self.transport = httpx.MockTransport(self.handle)

    def add_order(self, body: dict[str, Any]) -> None:
        self.orders[body["id"]] = body
        self.products[body["id"]] = products(body["id"])

    def add_refund(self, body: dict[str, Any]) -> None:
        self.refunds.setdefault(body["order_id"], []).append(body)

    def asked(self, path: str) -> list[httpx.Request]:
        """The requests for ``path`` (below the store)."""
        return [r for r in self.requests if r.url.path == f"/stores/{STORE_HASH}{path}"]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("x-auth-token") != ACCESS_TOKEN:
            return httpx.Response(401, json={"status": 401, "title": "Unauthorized"})
        if self.outage is not None and (answer := self.outage(request)) is not None:
            return answer
        prefix = f"/stores/{STORE_HASH}"
        if not request.url.path.startswith(prefix + "/"):
            return httpx.Response(404)
        path = request.url.path[len(prefix) :].strip("/").split("/")
        params = request.url.params
        match path:
            case ["v2", "orders"]:
                since = parsedate(params.get("min_date_modified"))
                found = [
                    o
                    for _, o in sorted(self.orders.items())
                    if since is None or parsedate_to_datetime(o["date_modified"]) >= since
                ]
                return v2_page(found, params)
            case ["v2", "orders", order_id]:
                if int(order_id) not in self.orders:
                    return httpx.Response(404, json=[{"status": 404, "message": "not found"}])
                return httpx.Response(200, json=self.orders[int(order_id)])
            case ["v2", "orders", order_id, "products"]:
                return v2_page(self.products.get(int(order_id), []), params)
            case ["v3", "orders", order_id, "payment_actions", "refunds"]:
                return httpx.Response(
                    200, json={"data": self.refunds.get(int(order_id), []), "meta": {}}
                )
            case ["v3", "orders", "payment_actions", "refunds"]:
                found = [r for _, rs in sorted(self.refunds.items()) for r in rs]
                return v3_page(found, params, meta=False)
            case ["v3", "customers"]:
                found = [c for _, c in sorted(self.customers.items())]
                if "id:in" in params:
                    wanted = {int(i) for i in params["id:in"].split(",")}
                    found = [c for c in found if c["id"] in wanted]
                return v3_page(found, params, meta=True)
        return httpx.Response(404)


def parsedate(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def v2_page(items: list[dict[str, Any]], params: httpx.QueryParams) -> httpx.Response:
    page, limit = int(params.get("page", 1)), int(params.get("limit", 50))
    chunk = items[(page - 1) * limit : page * limit]
    return httpx.Response(200, json=chunk) if chunk else httpx.Response(204)


def v3_page(
    items: list[dict[str, Any]], params: httpx.QueryParams, *, meta: bool
) -> httpx.Response:
    page, limit = int(params.get("page", 1)), int(params.get("limit", 50))
    chunk = items[(page - 1) * limit : page * limit]
    pages = max(1, -(-len(items) // limit))
    pagination = {
        "total": len(items),
        "count": len(chunk),
        "per_page": limit,
        "current_page": page,
        "total_pages": pages,
    }
    return httpx.Response(
        200, json={"data": chunk, "meta": {"pagination": pagination} if meta else {}}
    )
