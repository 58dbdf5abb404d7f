"""Orders, their lines and refunds, as the shop reported them. Money in integer cents."""

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.catalog import Product
    from models.members import Member


class Order(Model):
    """A shop order. Its external_id (the order id of the shop) is the idempotency key."""

    id = fields.IntField(primary_key=True)
    external_id = fields.CharField(max_length=255, unique=True)
    member: fields.ForeignKeyRelation["Member"] = fields.ForeignKeyField(
        "models.Member", related_name="orders", on_delete=fields.RESTRICT
    )
    member_id: int
    placed_at = fields.DatetimeField(db_index=True)
    currency = fields.CharField(max_length=3)
    subtotal_cents = fields.BigIntField()
    discount_cents = fields.BigIntField(default=0)
    shipping_cents = fields.BigIntField(default=0)
    eligible_cents = fields.BigIntField()
    points_awarded = fields.IntField()
    refunded_cents = fields.BigIntField(default=0)
    points_reversed = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "orders"
        indexes = (("member_id", "placed_at"),)


class OrderLine(Model):
    """One line of an order."""

    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="lines", on_delete=fields.CASCADE
    )
    order_id: int
    product: fields.ForeignKeyRelation["Product"] = fields.ForeignKeyField(
        "models.Product", related_name="order_lines", on_delete=fields.RESTRICT
    )
    product_id: int
    quantity = fields.IntField()
    unit_price_cents = fields.BigIntField()
    line_total_cents = fields.BigIntField()

    class Meta:
        table = "order_lines"
        indexes = (("order_id",),)


class Refund(Model):
    """A full or partial refund of an order. Its external_id makes a repeat a no-op."""

    id = fields.IntField(primary_key=True)
    external_id = fields.CharField(max_length=255, unique=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="refunds", on_delete=fields.RESTRICT
    )
    order_id: int
    amount_cents = fields.BigIntField()
    points_reversed = fields.IntField()
    shortfall = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refunds"


class EarlyCancellation(Model):
    """A shop platform cancelled an order before any delivery that would record it arrived
    (deliveries come out of order): a later paid delivery of that order earns nothing."""

    id = fields.BigIntField(primary_key=True)
    order_external_id = fields.CharField(max_length=255, unique=True)
    refund_external_id = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "early_cancellations"
