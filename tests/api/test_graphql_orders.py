"""GraphQL: recordOrder, refundOrder and previewPoints through the schema."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from api.context import Role
from loyalty.limits import MAX_BALANCE
from models import LedgerEntry, Member, Order, Refund
from tests.support import enroll, gql, gql_errors

pytestmark = pytest.mark.usefixtures("database")

RECORD = """
mutation($input: RecordOrderInput!) {
  recordOrder(input: $input) {
    order { externalId eligibleAmount pointsAwarded }
    member { pointsBalance }
    pointsAwarded replayed
    userErrors { field message code }
  }
}"""
REFUND = """
mutation($input: RefundOrderInput!) {
  refundOrder(input: $input) {
    pointsReversed shortfall replayed order { refundedAmount pointsReversed }
    userErrors { field code }
  }
}"""
PREVIEW = """
query($input: PreviewPointsInput!) {
  previewPoints(input: $input) { points eligibleAmount lines { sku points } }
}"""


def order_input(**overrides):
    data = {
        "externalId": "o-1",
        "memberExternalId": "cust-1",
        "currency": "USD",
        "lines": [{"sku": "A", "quantity": 2, "unitPrice": "12.50"}],
    }
    data.update(overrides)
    return {"input": data}


async def test_record_replay_and_refund(database):
    await enroll()

    first = await gql(database, RECORD, order_input(), role=Role.STOREFRONT)
    again = await gql(database, RECORD, order_input(), role=Role.STOREFRONT)
    refund = await gql(
        database,
        REFUND,
        {"input": {"orderExternalId": "o-1", "externalId": "r-1", "amount": "5.00"}},
        role=Role.STOREFRONT,
    )

    assert first["recordOrder"]["pointsAwarded"] == 25
    assert first["recordOrder"]["member"] == {"pointsBalance": 25}
    assert again["recordOrder"]["replayed"] is True
    assert again["recordOrder"]["member"] == {"pointsBalance": 25}
    assert refund["refundOrder"]["pointsReversed"] == 5
    assert refund["refundOrder"]["order"] == {"refundedAmount": "5.00", "pointsReversed": 5}


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"memberExternalId": "ghost"}, ["memberExternalId"], "MEMBER_NOT_FOUND"),
        ({"currency": "GBP"}, ["currency"], "CURRENCY_MISMATCH"),
        (
            {"lines": [{"sku": "A", "quantity": -2, "unitPrice": "1.00"}]},
            ["lines", "0", "quantity"],
            "INVALID_QUANTITY",
        ),
    ],
)
async def test_bad_orders_give_user_errors_and_write_nothing(database, overrides, field, code):
    await enroll()

    data = await gql(database, RECORD, order_input(**overrides), role=Role.STOREFRONT)

    assert data["recordOrder"]["order"] is None
    errors = data["recordOrder"]["userErrors"]
    assert len(errors) == 1
    assert (errors[0]["field"], errors[0]["code"]) == (field, code)
    assert await Order.all().count() == 0 and await LedgerEntry.all().count() == 0


@pytest.mark.parametrize("amount", ["1e30", "NaN", "Infinity", "1000000000000.01"])
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (lambda a: {"lines": [{"sku": "A", "quantity": 1, "unitPrice": a}]}, "lines.0.unitPrice"),
        (lambda a: {"discount": a}, "discount"),
        (lambda a: {"shipping": a}, "shipping"),
    ],
    ids=["unitPrice", "discount", "shipping"],
)
async def test_record_order_refuses_non_finite_or_huge_amounts(database, overrides, field, amount):
    await enroll()

    data = await gql(database, RECORD, order_input(**overrides(amount)), role=Role.STOREFRONT)

    assert data["recordOrder"]["order"] is None
    errors = data["recordOrder"]["userErrors"]
    assert len(errors) == 1
    assert (errors[0]["field"], errors[0]["code"]) == (field.split("."), "INVALID_AMOUNT")
    assert await Order.all().count() == 0 and await LedgerEntry.all().count() == 0


@pytest.mark.parametrize("amount", ["1e30", "NaN", "Infinity"])
async def test_refund_order_refuses_non_finite_or_huge_amounts(database, amount):
    await enroll()
    await gql(database, RECORD, order_input(), role=Role.STOREFRONT)
    entries = await LedgerEntry.all().count()

    data = await gql(
        database,
        REFUND,
        {"input": {"orderExternalId": "o-1", "externalId": "r-1", "amount": amount}},
        role=Role.STOREFRONT,
    )

    assert data["refundOrder"]["userErrors"] == [{"field": ["amount"], "code": "INVALID_AMOUNT"}]
    assert await Refund.all().count() == 0 and await LedgerEntry.all().count() == entries


async def test_refund_of_unknown_order_is_a_user_error(database):
    data = await gql(
        database,
        REFUND,
        {"input": {"orderExternalId": "nope", "amount": "1.00"}},
        role=Role.STOREFRONT,
    )
    assert data["refundOrder"]["userErrors"] == [
        {"field": ["orderExternalId"], "code": "ORDER_NOT_FOUND"}
    ]


@pytest.mark.parametrize("role", [Role.MEMBER, Role.PUBLIC])
async def test_orders_need_a_staff_key(database, role):
    await enroll()
    errors = await gql_errors(database, RECORD, order_input(), role=role, member_id=1)
    assert errors == ["not authorised for this operation"]
    assert await Order.all().count() == 0


async def test_preview_for_storefront_and_member(database):
    member = await enroll()
    variables = {"input": {"lines": [{"sku": "A", "quantity": 3, "unitPrice": "9.99"}]}}

    as_shop = await gql(database, PREVIEW, variables, role=Role.STOREFRONT)
    as_member = await gql(database, PREVIEW, variables, role=Role.MEMBER, member_id=member.id)

    assert as_shop == as_member
    assert as_shop["previewPoints"] == {
        "points": 29,
        "eligibleAmount": "29.97",
        "lines": [{"sku": "A", "points": 29}],
    }
    assert await LedgerEntry.all().count() == 0


async def test_preview_with_bad_lines_says_why(database):
    variables = {"input": {"lines": [{"sku": "A", "quantity": 0, "unitPrice": "9.99"}]}}
    errors = await gql_errors(database, PREVIEW, variables, role=Role.STOREFRONT)
    assert errors == ["quantity must be between 1 and 100000"]


BALANCE = "{ me { pointsBalance lifetimePoints } }"


@pytest.mark.parametrize(
    ("line", "field", "code"),
    [
        (
            {"sku": "A", "quantity": 100000, "unitPrice": "99999999999.99"},
            ["lines", "0", "unitPrice"],
            "INVALID_AMOUNT",
        ),
        (
            {"sku": "A", "quantity": 100001, "unitPrice": "1.00"},
            ["lines", "0", "quantity"],
            "INVALID_QUANTITY",
        ),
        ({"sku": "A", "quantity": 100000, "unitPrice": "999999.99"}, ["lines"], "INVALID_AMOUNT"),
    ],
)
async def test_record_order_refuses_amounts_beyond_the_bounds_on_both_backends(
    database, line, field, code
):
    # given
    member = await enroll()

    # when: the review's order (100000 x 99999999999.99) and its neighbours
    data = await gql(database, RECORD, order_input(lines=[line]), role=Role.STOREFRONT)

    # then: one userError, nothing recorded, and the balance still reads
    errors = data["recordOrder"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)]
    assert await Order.all().count() == 0
    me = await gql(database, BALANCE, role=Role.MEMBER, member_id=member.id)
    assert me["me"] == {"pointsBalance": 0, "lifetimePoints": 0}


async def test_record_order_refuses_more_points_than_one_order_may_earn(database):
    # given: 10 points per unit and an order of 2,000,000.00 (20,000,000 points)
    member = await enroll()
    generous = replace(database, points_per_unit=Decimal(10))
    line = {"sku": "A", "quantity": 2, "unitPrice": "1000000.00"}

    # when
    data = await gql(generous, RECORD, order_input(lines=[line]), role=Role.STOREFRONT)
    preview = await gql_errors(
        generous, PREVIEW, {"input": {"lines": [line]}}, role=Role.STOREFRONT
    )

    # then
    assert [e["code"] for e in data["recordOrder"]["userErrors"]] == ["POINTS_LIMIT"]
    assert preview and "at most 10000000 points" in preview[0]
    assert await LedgerEntry.filter(member_id=member.id).count() == 0


async def test_credit_refuses_a_balance_beyond_the_bound(database):
    # given: a balance at the bound (set directly: reaching it takes a hundred 10M adjustments)
    member = await enroll()
    await Member.filter(id=member.id).update(balance=MAX_BALANCE)

    # when: an order would push it over
    data = await gql(database, RECORD, order_input(), role=Role.STOREFRONT)

    # then: refused with POINTS_LIMIT, and the order is not kept either
    assert [e["code"] for e in data["recordOrder"]["userErrors"]] == ["POINTS_LIMIT"]
    assert await Order.all().count() == 0
    assert (await Member.get(id=member.id)).balance == MAX_BALANCE
    me = await gql(database, BALANCE, role=Role.MEMBER, member_id=member.id)
    assert me["me"]["pointsBalance"] == MAX_BALANCE


@pytest.mark.parametrize("placed_at", ["9999-12-31T00:00:00Z", "1970-01-01T00:00:00Z"])
async def test_record_order_refuses_a_placed_at_outside_a_sane_window(database, placed_at):
    # given
    await enroll()

    # when
    data = await gql(database, RECORD, order_input(placedAt=placed_at), role=Role.STOREFRONT)

    # then: a userError, not "Unexpected error", and nothing recorded
    errors = data["recordOrder"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["placedAt"], "INVALID_DATE")]
    assert await Order.all().count() == 0
