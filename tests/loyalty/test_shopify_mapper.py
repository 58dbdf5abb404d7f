"""The Shopify mapper on Shopify's own published sample payloads (tests/fixtures/platforms)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from loyalty.errors import ErrorCode, InvalidInput
from loyalty.members import EnrollInput
from loyalty.orders import RefundInput
from loyalty.platforms import shopify
from loyalty.platforms.commands import (
    Cancel,
    Close,
    Enrol,
    Erase,
    Ignore,
    KeepForClaim,
    Park,
    RecordOrder,
    Refund,
)
from loyalty.platforms.inbox import parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms" / "shopify"


def sample(name: str) -> dict:
    """A published sample, parsed the way the inbox parses it (ids exact, amounts Decimal)."""
    return parse((FIXTURES / name).read_text())


def paid(body: dict) -> dict:
    """The published order sample is a cancelled, voided test order (the same body for all four
    order topics); a paid order differs from it in exactly these four fields."""
    return {
        **body,
        "test": False,
        "financial_status": "paid",
        "cancelled_at": None,
        "cancel_reason": None,
    }


@pytest.mark.parametrize("topic", ["orders/create", "orders/paid"])
def test_the_published_order_sample_is_a_test_order_and_earns_nothing(topic):
    assert shopify.command(topic, sample("orders_paid.json"), "USD") == Ignore("test order")


def test_a_paid_order_maps_to_the_domain_in_shop_money_with_exact_ids():
    command = shopify.command("orders/paid", paid(sample("orders_paid.json")), "USD")

    assert isinstance(command, RecordOrder)
    order = command.order
    # 820982911946154508 > 2**53: a float would have made it ...500
    assert order.external_id == "shopify-820982911946154508"
    assert order.member_external_id == command.customer.external_id == "115310627314723954"
    assert command.customer.email == "john@example.com"  # the customer's, not the order's jon@
    assert command.customer.name == "John Smith"
    assert order.currency == "USD"
    assert order.placed_at == datetime(2021, 12, 31, 19, tzinfo=timezone(timedelta(hours=-5)))
    assert order.discount == Decimal("20.00") and order.shipping == Decimal("10.00")
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("SKU2006-001", 1, Decimal("89.99")),
        ("LENS-PROTECT-2YR", 1, Decimal("19.99")),
        ("CASE-LEATHER-PREM", 1, Decimal("24.99")),
        ("SKU2006-020", 1, Decimal("159.99")),
        ("SKU2006-035", 1, Decimal("119.99")),
    ]
    assert order.lines[0].name == "Aviator sunglasses"


def test_a_line_without_sku_falls_back_to_variant_then_product_then_custom_item():
    body = paid(sample("orders_paid.json"))
    lines = body["line_items"]
    # The sample's lines all have a sku and a null variant_id; these lines lose the sku.
    lines[0] = {**lines[0], "sku": None, "variant_id": 9007199254740993}
    lines[1] = {**lines[1], "sku": ""}  # product_id and variant_id are null in the sample
    lines[3] = {**lines[3], "sku": "  "}

    command = shopify.command("orders/paid", body, "USD")

    assert isinstance(command, RecordOrder)
    assert [line.sku for line in command.order.lines] == [
        "shopify-variant-9007199254740993",
        "shopify-custom-item",
        "CASE-LEATHER-PREM",
        "shopify-product-788032119674292922",
        "SKU2006-035",
    ]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"test": True}, "test order"),
        ({"financial_status": "voided"}, "financial_status is voided: points follow payment"),
        ({"financial_status": "pending"}, "financial_status is pending: points follow payment"),
        (
            {"financial_status": "partially_paid"},
            "financial_status is partially_paid: points follow payment",
        ),
        (
            {"customer": None, "email": None},
            "guest order without an e-mail: no one can claim it",
        ),
    ],
)
def test_orders_that_earn_nothing_are_ignored_with_the_reason(changes, reason):
    body = {**paid(sample("orders_paid.json")), **changes}
    assert shopify.command("orders/paid", body, "USD") == Ignore(reason)


def test_a_paid_guest_order_is_kept_for_whoever_enrols_with_its_email():
    body = {**paid(sample("orders_paid.json")), "customer": None}  # no customer: a guest

    command = shopify.command("orders/paid", body, "USD")

    assert isinstance(command, KeepForClaim)
    assert command.email == "jon@example.com"  # the order's own e-mail (its customer's is john@)
    assert command.order.external_id == "shopify-820982911946154508"
    assert command.order.member_external_id == ""
    assert len(command.order.lines) == 5 and command.order.discount == Decimal("20.00")


def test_the_refund_sample_reverses_the_money_of_its_refund_transactions():
    command = shopify.command("refunds/create", sample("refunds_create.json"), "USD")

    # transactions: 75.00 + 10.00 (kind refund, status success); the line subtotals
    # (414.95 in all, JSON numbers) are not the money that went back.
    assert command == Refund(
        RefundInput(
            order_external_id="shopify-820982911946154508",
            external_id="shopify-refund-890088186047892319",
            amount=Decimal("85.00"),
        )
    )


def test_a_refund_transaction_in_another_currency_is_refused():
    body = sample("refunds_create.json")
    body["transactions"][0] = {**body["transactions"][0], "currency": "EUR"}  # null in the sample

    with pytest.raises(InvalidInput) as raised:
        shopify.command("refunds/create", body, "USD")

    assert raised.value.code is ErrorCode.CURRENCY_MISMATCH
    assert raised.value.field == "transactions[0].currency"


def test_a_refund_of_test_transactions_only_is_ignored():
    body = sample("refunds_create.json")
    body["transactions"] = [{**t, "test": True} for t in body["transactions"]]
    assert shopify.command("refunds/create", body, "USD") == Ignore("test refund")


def test_a_cancellation_reverses_the_rest_of_the_order():
    body = paid(sample("orders_cancelled.json")) | {"cancelled_at": "2022-01-01T10:00:00-05:00"}
    assert shopify.command("orders/cancelled", body, "USD") == Cancel(
        "shopify-820982911946154508", "shopify-cancel-820982911946154508"
    )
    assert shopify.command("orders/cancelled", sample("orders_cancelled.json"), "USD") == Ignore(
        "test order"
    )


@pytest.mark.parametrize("name", ["customers_create.json", "customers_update.json"])
def test_the_customer_sample_enrols(name):
    command = shopify.command(name.removesuffix(".json").replace("_", "/"), sample(name), "USD")
    assert command == Enrol(
        EnrollInput(external_id="706405506930370084", email="bob@biller.com", name="Bob Biller")
    )


def test_a_cancelled_or_refunded_order_in_any_order_topic_reverses_the_rest():
    for changes in (
        {"cancelled_at": "2021-12-31T19:00:00-05:00"},
        {"financial_status": "refunded"},
    ):
        body = {**paid(sample("orders_paid.json")), **changes}
        assert shopify.command("orders/updated", body, "USD") == Cancel(
            "shopify-820982911946154508", "shopify-cancel-820982911946154508"
        )


def test_topics_not_handled_are_ignored():
    command = shopify.command("app/uninstalled", {"id": 1}, "USD")
    assert command == Ignore("topic 'app/uninstalled' is not handled")


def test_the_privacy_topics_erase_close_or_wait_for_the_merchant():
    redact = shopify.command("customers/redact", sample("customers_redact.json"), "USD")
    assert redact == Erase("191167", "john@example.com", "Shopify customers/redact")
    deleted = shopify.command("customers/delete", sample("customers_delete.json"), "USD")
    assert deleted == Close("706405506930370084")
    request = shopify.command(
        "customers/data_request", sample("customers_data_request.json"), "USD"
    )
    assert isinstance(request, Park) and request.reason.startswith("customers/data_request 9999:")
    assert "191167" not in request.reason  # the customer's id stays in the body only
    shop = shopify.command("shop/redact", sample("shop_redact.json"), "USD")
    assert isinstance(shop, Park) and shop.reason.startswith("shop/redact:")


def test_a_malformed_line_names_the_field_as_shopify_spells_it():
    body = paid(sample("orders_paid.json"))
    body["line_items"][2]["price_set"]["shop_money"]["amount"] = "12,50"

    with pytest.raises(InvalidInput) as raised:
        shopify.command("orders/paid", body, "USD")

    assert raised.value.field == "line_items[2].price_set.shop_money.amount"
    assert raised.value.code is ErrorCode.INVALID_AMOUNT
