"""The WooCommerce mapper on WooCommerce's own published examples (tests/fixtures/platforms,
SOURCES.md): a webhook body is the resource exactly as the REST API returns it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from loyalty.errors import ErrorCode, InvalidInput
from loyalty.members import EnrollInput
from loyalty.orders import LineInput, OrderInput, RefundInput
from loyalty.platforms import woocommerce
from loyalty.platforms.commands import (
    Cancel,
    Close,
    Enrol,
    Ignore,
    KeepForClaim,
    RecordOrder,
    Refund,
    Steps,
)
from loyalty.platforms.inbox import parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms" / "woocommerce"
JOHN = EnrollInput(external_id="25", email="john.doe@example.com", name="John Doe")
SECOND_LINE = "Ship Your Idea &ndash; Color: Black, Size: M Test"


def sample(name: str) -> Any:
    """A published example, parsed the way the inbox parses it (amounts Decimal, no floats)."""
    text = (FIXTURES / name).read_text()
    return json.loads(text, parse_float=Decimal) if text.startswith("[") else parse(text)


def customer_order(**changes: Any) -> dict[str, Any]:
    """The published order (a guest order, ``customer_id`` 0) placed by customer 25, the
    published customer, whose billing details it already carries; then ``changes``."""
    return {**sample("order.json"), "customer_id": 25, **changes}


def listed(refund: dict[str, Any]) -> dict[str, Any]:
    """A published refund as an order lists it in ``refunds``: WooCommerce's REST controller
    writes ``{id, reason, total: "-" + amount}`` (the order example has ``refunds: []``)."""
    return {"id": refund["id"], "reason": refund["reason"], "total": "-" + refund["amount"]}


def test_the_published_order_is_a_guest_order_kept_for_its_billing_email():
    command = woocommerce.command("order.created", sample("order.json"), "USD")

    assert command == KeepForClaim(
        OrderInput(
            external_id="woocommerce-727",
            member_external_id="",
            lines=[
                # sku "" and variation_id 0: the product; price is the JSON number 3
                LineInput("woocommerce-product-93", 2, Decimal(3), name="Woo Single #1"),
                LineInput("Bar3", 1, Decimal(12), name=SECOND_LINE),
            ],
            currency="USD",
            # date_created_gmt; date_created (16:28) is the shop's local time
            placed_at=datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC),
            discount=Decimal(0),
            shipping=Decimal("10.00"),
        ),
        email="john.doe@example.com",
    )


@pytest.mark.parametrize("status", ["processing", "completed"])
@pytest.mark.parametrize("topic", ["order.created", "order.updated"])
def test_a_paid_customer_order_is_recorded_for_str_customer_id(topic, status):
    command = woocommerce.command(topic, customer_order(status=status), "USD")

    assert isinstance(command, RecordOrder)
    assert command.customer == JOHN  # from billing: the order has no customer object
    assert command.order.member_external_id == "25"
    assert command.order.external_id == "woocommerce-727"
    assert [line.sku for line in command.order.lines] == ["woocommerce-product-93", "Bar3"]


def test_a_line_without_sku_is_its_variation_else_its_product_else_a_deleted_product():
    body = customer_order()
    first, second = body["line_items"]
    # The example has sku "" with variation_id 0 (first) and sku "Bar3" with variation 23.
    lines = [
        {**second, "sku": ""},
        {**second, "sku": None},  # a product deleted since: the REST API writes null
        {**first, "product_id": 0},
        first,
    ]

    command = woocommerce.command("order.updated", {**body, "line_items": lines}, "USD")

    assert isinstance(command, RecordOrder)
    assert [line.sku for line in command.order.lines] == [
        "woocommerce-variation-23",
        "woocommerce-variation-23",
        "woocommerce-deleted-product",
        "woocommerce-product-93",
    ]


def test_a_price_that_is_not_whole_cents_splits_the_exact_line_total():
    body = customer_order()
    # A 11.00 coupon on three of the second item: WooCommerce's price is total / quantity,
    # 25 / 3 as PHP writes it. The example has quantity 1, price 12, total "12.00".
    body["line_items"][1].update(
        quantity=3, subtotal="36.00", total="25.00", price=Decimal("8.333333333333334")
    )

    command = woocommerce.command("order.updated", body, "USD")

    assert isinstance(command, RecordOrder)
    assert command.order.lines[1:] == [
        LineInput("Bar3", 2, Decimal("8.33"), name=SECOND_LINE),
        LineInput("Bar3", 1, Decimal("8.34"), name=SECOND_LINE),
    ]
    assert sum(line.quantity * line.unit_price for line in command.order.lines[1:]) == 25


def test_refunds_listed_on_the_order_are_reversed_one_by_one_by_their_ids():
    refunds = [listed(r) for r in sample("refunds_list.json")]  # 726: 10.00, 724: 9.00

    command = woocommerce.command("order.updated", customer_order(refunds=refunds), "USD")

    assert isinstance(command, Steps)
    record, *reversals = command.commands
    assert isinstance(record, RecordOrder)
    assert reversals == [
        Refund(RefundInput("woocommerce-727", "woocommerce-refund-726", Decimal("10.00"))),
        Refund(RefundInput("woocommerce-727", "woocommerce-refund-724", Decimal("9.00"))),
    ]


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_a_cancelled_or_refunded_order_reverses_what_is_left(status):
    refunds = [listed(sample("refund.json"))]

    command = woocommerce.command(
        "order.updated", customer_order(status=status, refunds=refunds), "USD"
    )

    assert command == Cancel("woocommerce-727", "woocommerce-cancel-727")


@pytest.mark.parametrize("status", ["pending", "on-hold", "failed", "trash", "checkout-draft"])
def test_an_order_that_is_not_paid_earns_nothing(status):
    command = woocommerce.command("order.updated", customer_order(status=status), "USD")

    assert command == Ignore(f"status is {status}: only processing and completed orders earn")


def test_a_guest_order_without_an_email_is_ignored():
    body = sample("order.json")
    body["billing"]["email"] = ""  # the example's guest left john.doe@example.com

    assert woocommerce.command("order.created", body, "USD") == Ignore(
        "guest order without an e-mail: no one can claim it"
    )


@pytest.mark.parametrize("topic", ["customer.created", "customer.updated"])
def test_the_published_customer_enrols(topic):
    assert woocommerce.command(topic, sample("customer.json"), "USD") == Enrol(JOHN)


def test_a_deleted_order_changes_nothing_and_a_deleted_customer_is_closed():
    # A deleted resource's webhook body is just its id.
    assert woocommerce.command("order.deleted", {"id": 727}, "USD") == Ignore(
        "a deleted order takes nothing back: refund or cancel it"
    )
    assert woocommerce.command("customer.deleted", {"id": 25}, "USD") == Close("25")
    assert woocommerce.command("product.created", {"id": 93}, "USD") == Ignore(
        "topic 'product.created' is not handled"
    )


@pytest.mark.parametrize(
    ("line", "field", "code"),
    [
        ({"price": "3,00"}, "line_items[0].price", ErrorCode.INVALID_AMOUNT),
        ({"price": True}, "line_items[0].price", ErrorCode.INVALID_AMOUNT),
        ({"price": None}, "line_items[0].price", ErrorCode.INVALID),
        ({"quantity": "2"}, "line_items[0].quantity", ErrorCode.INVALID_QUANTITY),
        (
            {"price": Decimal("2.999"), "total": "6,00"},
            "line_items[0].total",
            ErrorCode.INVALID_AMOUNT,
        ),
    ],
)
def test_a_malformed_line_names_its_field(line, field, code):
    body = customer_order()
    body["line_items"][0].update(line)

    with pytest.raises(InvalidInput) as raised:
        woocommerce.command("order.created", body, "USD")

    assert (raised.value.field, raised.value.code) == (field, code)
