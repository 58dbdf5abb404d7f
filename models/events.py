"""Outgoing events (the outbox), their deliveries to webhooks, and members' marketing state."""

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.members import Member


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class OutboxEvent(Model):
    """Something that happened, written in the same transaction as the change that caused it.

    ``event_id`` is what receivers de-duplicate on; ``key`` (when set) makes a writer's retry
    a no-op, e.g. one reminder per member and day.
    """

    id = fields.BigIntField(primary_key=True)
    event_id = fields.UUIDField(unique=True)
    kind = fields.CharField(max_length=32, db_index=True)
    member_id = fields.IntField(null=True, db_index=True)
    key = fields.CharField(max_length=255, unique=True, null=True)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox_events"


class EventDelivery(Model):
    """One event on its way to one webhook URL: pending until delivered, failed when given up."""

    id = fields.BigIntField(primary_key=True)
    event: fields.ForeignKeyRelation[OutboxEvent] = fields.ForeignKeyField(
        "models.OutboxEvent", related_name="deliveries", on_delete=fields.RESTRICT
    )
    url = fields.CharField(max_length=1024)
    status = fields.CharEnumField(DeliveryStatus, max_length=12, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    last_error = fields.TextField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "event_deliveries"
        unique_together = (("event_id", "url"),)
        indexes = (("status", "next_attempt_at"),)


class MarketingPreference(Model):
    """Per-member reminder state: opted out of marketing, and when the last reminder went out."""

    id = fields.IntField(primary_key=True)
    member: fields.OneToOneRelation["Member"] = fields.OneToOneField(
        "models.Member", related_name="marketing", on_delete=fields.RESTRICT
    )
    opted_out = fields.BooleanField(default=False)
    last_reminder_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "marketing_preferences"
