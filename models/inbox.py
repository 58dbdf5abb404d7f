"""The inbox of shop-platform deliveries: every signed one is kept with what became of it."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class InboxStatus(StrEnum):
    APPLIED = "applied"
    PARKED = "parked"
    IGNORED = "ignored"


class InboxDelivery(Model):
    """One delivery from a shop platform, stored before it is applied.

    ``parked`` until applied: a delivery that could not be applied (or whose worker died on
    the way) stays parked with its reason and can be replayed; ``ignored`` means it asks for
    nothing (a test order, an unpaid one). ``delivery_id`` is the platform's own id of the
    delivery, unique per platform, so a redelivery finds the first one.
    """

    id = fields.BigIntField(primary_key=True)
    platform = fields.CharField(max_length=32)
    topic = fields.CharField(max_length=64)
    delivery_id = fields.CharField(max_length=255)
    body = fields.TextField()
    status = fields.CharEnumField(InboxStatus, max_length=12, default=InboxStatus.PARKED)
    reason = fields.TextField(null=True)
    attempts = fields.IntField(default=0)
    received_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    applied_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox_deliveries"
        unique_together = (("platform", "delivery_id"),)
        indexes = (("status", "id"),)
