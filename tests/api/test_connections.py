"""Every connection pages the same way (``api.relay.connection``): walked one row at a time it
returns each row once, in the order of a single full page, with consistent pageInfo."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from api.context import Role
from loyalty import rewards
from loyalty.events import dispatch
from models import RewardKind
from tests.support import enroll, gql, order

pytestmark = pytest.mark.usefixtures("database")

PAGE = "edges { cursor node { %s } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
CONNECTIONS = {
    "transactions": ("me", "transactions", "id points"),
    "coupons": ("me", "coupons", "code"),
    "members": (None, "members", "externalId"),
    "members (filter)": (None, "members(filter: {minPoints: 1}, %s)", "externalId"),
    "segment": (None, "segment", "member { externalId }"),
    "eventDeliveries": (None, "eventDeliveries", "id"),
    "rewards": (None, "rewards", "name pointsMissing"),
}


def document(parent: str | None, field: str, node: str) -> str:
    arguments = "first: $first, after: $after"
    call = field % arguments if "%" in field else f"{field}({arguments})"
    selection = f"{call} {{ {PAGE % node} }}"
    if parent:
        selection = f"{parent} {{ {selection} }}"
    return f"query ($first: Int, $after: String) {{ {selection} }}"


async def page(settings, name: str, member_id: int, first: int, after: str | None) -> Any:
    parent, field, node = CONNECTIONS[name]
    role = Role.MEMBER if parent or name == "rewards" else Role.ADMIN
    data = await gql(
        settings,
        document(parent, field, node),
        {"first": first, "after": after},
        role=role,
        member_id=member_id,
    )
    found = data[parent] if parent else data
    return found[field.split("(")[0]]


@pytest.mark.parametrize("name", list(CONNECTIONS))
async def test_every_connection_walked_row_by_row_returns_the_full_page(database, name):
    member = await enroll("ann")
    for other in ("bob", "cat"):
        await enroll(other)
        await order(database, f"{other}-1", member_external_id=other, amount="10.00")
    for i in range(3):
        await order(database, f"ann-{i}", member_external_id="ann", amount="100.00")
    for cost in (10, 20, 30):
        reward = await rewards.create_reward(
            rewards.RewardInput(
                name=f"r{cost}", kind=RewardKind.FIXED_DISCOUNT, points_cost=cost, value=Decimal(1)
            )
        )
        await rewards.redeem(member.id, reward.id)

    async def always_up(url: str, body: bytes, headers: dict[str, str]) -> int:
        return 200

    await dispatch.dispatch_once(database, urls=["https://a.example/up"], send=always_up)

    full = await page(database, name, member.id, 100, None)
    walked, after, pages = [], None, []
    while True:
        one = await page(database, name, member.id, 1, after)
        pages.append(one)
        walked += one["edges"]
        if not one["pageInfo"]["hasNextPage"]:
            break
        after = one["pageInfo"]["endCursor"]

    assert len(full["edges"]) >= 3, full
    assert [e["node"] for e in walked] == [e["node"] for e in full["edges"]]
    assert [e["cursor"] for e in walked] == [e["cursor"] for e in full["edges"]]
    assert full["pageInfo"]["hasNextPage"] is False
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False] + [True] * (len(pages) - 1)
    for one in pages:
        cursors = [e["cursor"] for e in one["edges"]]
        assert one["pageInfo"]["startCursor"] == cursors[0]
        assert one["pageInfo"]["endCursor"] == cursors[-1]
