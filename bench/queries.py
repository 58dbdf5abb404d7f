"""The GraphQL documents the benchmarks send, and the request bodies built from them."""

from __future__ import annotations

import random
from typing import Any

from bench.seed import Product

# The read path an account page or app opens with: balance, tier, last transactions, and the
# offers a storefront shows (product or reward, with what a tile needs). bench/floor.py answers
# the same JSON; change both together.
ME = """query Me {
  me {
    pointsBalance
    tier { name }
    transactions(first: 10) { edges { node { kind points balanceAfter createdAt } } }
    offers(first: 10) {
      kind
      score
      reason
      product { id sku name price }
      reward { id name kind pointsCost }
    }
  }
}"""

RECORD_ORDER = """mutation RecordOrder($input: RecordOrderInput!) {
  recordOrder(input: $input) { pointsAwarded replayed userErrors { code } }
}"""

PREVIEW = """query Preview($input: PreviewPointsInput!) {
  previewPoints(input: $input) { points eligibleAmount lines { sku points } }
}"""

PROGRAM = "query Program { program { name } }"

LINES_PER_ORDER = 10


def cart(rng: random.Random, products: list[Product]) -> list[tuple[Product, int]]:
    """Ten distinct products with quantities, as a checkout would send them."""
    return [(p, rng.randint(1, 3)) for p in rng.sample(products, LINES_PER_ORDER)]


def lines_json(items: list[tuple[Product, int]]) -> list[dict[str, Any]]:
    return [
        {"sku": p.sku, "quantity": q, "unitPrice": f"{p.price_cents / 100:.2f}"} for p, q in items
    ]


def record_order_body(external_id: str, member: str, items: list[tuple[Product, int]]) -> bytes:
    """The JSON body of one recordOrder request."""
    return _body(
        RECORD_ORDER,
        {
            "input": {
                "externalId": external_id,
                "memberExternalId": member,
                "currency": "USD",
                "lines": lines_json(items),
            }
        },
    )


def preview_body(member: str, items: list[tuple[Product, int]]) -> bytes:
    """The JSON body of one previewPoints request."""
    return _body(PREVIEW, {"input": {"memberExternalId": member, "lines": lines_json(items)}})


def body(query: str) -> bytes:
    """A request body without variables."""
    return _body(query, None)


def _body(query: str, variables: dict[str, Any] | None) -> bytes:
    import json

    data: dict[str, Any] = {"query": query}
    if variables is not None:
        data["variables"] = variables
    return json.dumps(data).encode()
