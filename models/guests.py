"""Guest orders: paid orders placed without a customer account, kept until a member claims them."""

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.members import Member


class GuestOrder(Model):
    """A paid order without a customer, claimable by the member who enrols with its e-mail.

    ``external_id`` is the id the order is recorded under once claimed (so the orders table's
    unique id is what credits it once); ``order`` holds the order as the domain's input (JSON).
    """

    id = fields.BigIntField(primary_key=True)
    external_id = fields.CharField(max_length=255, unique=True)
    email_normalized = fields.CharField(max_length=320)
    placed_at = fields.DatetimeField()
    order = fields.TextField()
    claimed_by: fields.ForeignKeyNullableRelation["Member"] = fields.ForeignKeyField(
        "models.Member", related_name="guest_orders", null=True, on_delete=fields.RESTRICT
    )
    claimed_by_id: int | None
    claimed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "guest_orders"
        indexes = (("email_normalized", "placed_at"),)


class GuestRefund(Model):
    """Money refunded on a guest order before it was claimed, reversed once it is claimed.

    No amount means the order was cancelled: it can no longer be claimed.
    """

    id = fields.BigIntField(primary_key=True)
    external_id = fields.CharField(max_length=255, unique=True)
    guest_order: fields.ForeignKeyRelation[GuestOrder] = fields.ForeignKeyField(
        "models.GuestOrder", related_name="refunds", on_delete=fields.CASCADE
    )
    guest_order_id: int
    amount_cents = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "guest_refunds"
