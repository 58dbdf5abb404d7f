"""The BigCommerce mapper on the published samples (pure functions, no database), and the
settings the connector reads."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from loyalty.errors import ErrorCode, InvalidInput
from loyalty.orders import RefundInput
from loyalty.platforms import bigcommerce
from loyalty.platforms.commands import Cancel, Ignore, RecordOrder, Refund
from loyalty.settings import ConfigError, from_env
from tests.bigcommerce_fake import order, products, raw, refund


def test_callbacks_are_one_delivery_per_scope_hash_and_moment():
    created = bigcommerce.envelope(raw("webhook_store_order_created.json"))
    updated = bigcommerce.envelope(raw("webhook_store_order_updated.json"))

    # The two published samples share their hash and created_at; only the scope differs.
    assert created == (
        "store/order/created",
        "store/order/created:dd70c0976e06b67aaf671e73f49dcb79230ebf9d:1561479335",
    )
    assert updated[1] == ("store/order/updated:dd70c0976e06b67aaf671e73f49dcb79230ebf9d:1561479335")
    assert bigcommerce.envelope(b"{not json") == ("", None)
    assert bigcommerce.envelope(b'{"scope": "store/order/created"}') == (
        "store/order/created",
        None,
    )


def test_every_status_has_one_meaning():
    tables = [bigcommerce.PAID, bigcommerce.NOT_PAID, bigcommerce.UNDONE]

    assert sorted(status for table in tables for status in table) == list(range(15))


def test_the_published_order_and_products_as_an_order():
    command = bigcommerce.record_command(order(218, status_id=11), products(218))

    assert isinstance(command, RecordOrder)
    placed = command.order
    assert placed.external_id == "bigcommerce-218" and placed.member_external_id == "11"
    assert [(line.sku, line.quantity, line.unit_price) for line in placed.lines] == [
        ("S-ORAN", 1, Decimal("55.99")),
        ("ABS", 1, Decimal("0.00")),
    ]
    assert (placed.discount, placed.shipping, placed.currency) == (
        Decimal("10.00"),
        Decimal("11.09"),
        "USD",
    )
    assert placed.placed_at == datetime(2019, 3, 5, 21, 40, 11, tzinfo=UTC)
    assert (command.customer.email, command.customer.name) == ("janedoe@example.com", "Jane Doe")


def test_four_decimal_amounts_are_rounded_to_the_cent_half_up():
    lines = products(218)
    lines[0]["price_ex_tax"] = "12.3450"
    lines[1]["price_ex_tax"] = "0.0049"

    command = bigcommerce.record_command(order(218, status_id=11), lines)

    assert isinstance(command, RecordOrder)
    assert [line.unit_price for line in command.order.lines] == [
        Decimal("12.35"),
        Decimal("0.00"),
    ]


def test_lines_without_a_sku_go_by_variant_product_or_as_a_custom_item():
    lines = products(218) + products(218)
    lines[0].update(sku="", variant_id=99)
    lines[1].update(sku=" ", product_id=86)
    lines[2].update(sku=None, product_id=0, variant_id=0)

    command = bigcommerce.record_command(order(218, status_id=11), lines)

    assert isinstance(command, RecordOrder)
    assert [line.sku for line in command.order.lines] == [
        "bigcommerce-variant-99",
        "bigcommerce-product-86",
        "bigcommerce-custom-item",
        "ABS",
    ]


def test_a_malformed_amount_names_its_field():
    lines = products(218)
    lines[0]["price_ex_tax"] = "12,50"

    with pytest.raises(InvalidInput) as raised:
        bigcommerce.record_command(order(218, status_id=11), lines)

    assert raised.value.code is ErrorCode.INVALID_AMOUNT
    assert raised.value.field == "products[0].price_ex_tax"


def test_a_malformed_date_names_its_field():
    with pytest.raises(InvalidInput) as raised:
        bigcommerce.record_command(order(218, date_created="yesterday"), products(218))

    assert (raised.value.code, raised.value.field) == (ErrorCode.INVALID_DATE, "date_created")


def test_guest_orders_earn_nothing():
    command = bigcommerce.record_command(order(218, customer_id=0), products(218))

    assert command == Ignore("guest order: no customer to credit")


def test_refunds_reverse_the_payments_that_were_not_declined():
    paid = refund(12, 180, 50)
    paid["payments"].append({**paid["payments"][0], "id": 14, "amount": Decimal("7.25")})
    declined = refund(13, 180, 9)
    declined["payments"][0]["is_declined"] = True

    commands = bigcommerce.refund_commands("180", [paid, declined])

    assert commands == [
        Refund(RefundInput("bigcommerce-180", "bigcommerce-refund-12", Decimal("57.25"))),
        Ignore("refund 13: no money went back"),
    ]


def test_refunded_cancelled_and_declined_orders_undo_the_rest():
    for status_id in (4, 5, 6):
        state = bigcommerce.state(order(218, status_id=status_id))

        assert state.undone and not state.records
        # BigCommerce's order is read fresh on every callback: a cancellation of an order not
        # recorded yet leaves no mark against a later paid state (final=False).
        assert bigcommerce.cancel_command(state) == Cancel(
            "bigcommerce-218", "bigcommerce-cancel-218", final=False
        )


BIGCOMMERCE = {
    "LOYALTY_BIGCOMMERCE_SECRET": "s" * 32,
    "LOYALTY_BIGCOMMERCE_STORE_HASH": "abc123",
    "LOYALTY_BIGCOMMERCE_ACCESS_TOKEN": "store-api-token-value",
}


def test_bigcommerce_settings_are_read():
    settings = from_env(BIGCOMMERCE)

    assert settings.bigcommerce_secret.value == "s" * 32
    assert settings.bigcommerce_store_hash == "abc123"
    assert settings.bigcommerce_access_token.value == "store-api-token-value"
    assert "store-api-token-value" not in repr(settings)


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ("LOYALTY_BIGCOMMERCE_STORE_HASH", "LOYALTY_BIGCOMMERCE_STORE_HASH"),
        ("LOYALTY_BIGCOMMERCE_ACCESS_TOKEN", "LOYALTY_BIGCOMMERCE_ACCESS_TOKEN"),
    ],
)
def test_bigcommerce_secret_without_the_store_credentials_fails_at_start(unset, named):
    env = {k: v for k, v in BIGCOMMERCE.items() if k != unset}

    with pytest.raises(ConfigError, match=named):
        from_env(env)


def test_bigcommerce_store_hash_is_letters_and_digits():
    with pytest.raises(ConfigError, match="letters and digits"):
        from_env({**BIGCOMMERCE, "LOYALTY_BIGCOMMERCE_STORE_HASH": "abc/../x"})
