"""Trained recommender versions and the offers they precomputed per member."""

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.catalog import Product


class ModelVersion(Model):
    """One trained model. Exactly one version is active: serving reads its offers."""

    id = fields.IntField(primary_key=True)
    version = fields.CharField(max_length=64, unique=True)
    path = fields.CharField(max_length=1024)
    active = fields.BooleanField(default=False, db_index=True)
    metrics: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    params: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    data_from = fields.DatetimeField(null=True)
    data_to = fields.DatetimeField(null=True)
    members = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "model_versions"


class MemberOffer(Model):
    """A precomputed product offer. A null member holds the popularity fallback."""

    id = fields.BigIntField(primary_key=True)
    version: fields.ForeignKeyRelation[ModelVersion] = fields.ForeignKeyField(
        "models.ModelVersion", related_name="offers", on_delete=fields.CASCADE
    )
    version_id: int
    member_id = fields.IntField(null=True)
    rank = fields.IntField()
    product: fields.ForeignKeyRelation["Product"] = fields.ForeignKeyField(
        "models.Product", related_name="offers", on_delete=fields.CASCADE
    )
    product_id: int
    score = fields.FloatField()
    reason = fields.CharField(max_length=32)

    class Meta:
        table = "member_offers"
        indexes = (("version_id", "member_id", "rank"),)


class OfferEventKind(StrEnum):
    IMPRESSION = "IMPRESSION"
    CLICK = "CLICK"
    DISMISS = "DISMISS"


class OfferEvent(Model):
    """What the app reported about one served offer, stored once per offer, kind and moment.

    Version, rank and item are copied out of the signed offer id so reports can join on them.
    """

    id = fields.BigIntField(primary_key=True)
    offer_id = fields.CharField(max_length=128)
    member_id = fields.IntField(db_index=True)
    kind = fields.CharEnumField(OfferEventKind, max_length=16)
    at = fields.DatetimeField()
    version_id = fields.IntField()
    rank = fields.IntField()
    item_kind = fields.CharField(max_length=1)  # P: product, R: reward
    item_id = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "offer_events"
        unique_together = (("offer_id", "kind", "at"),)
        indexes = (("member_id", "at"),)
