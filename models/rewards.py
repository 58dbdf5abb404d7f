"""The rewards catalogue, the coupons that redemptions issue, and charity donations."""

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.members import Member
    from models.program import Tier


class RewardKind(StrEnum):
    FIXED_DISCOUNT = "fixed_discount"
    PERCENT_DISCOUNT = "percent_discount"
    FREE_PRODUCT = "free_product"
    FREE_SHIPPING = "free_shipping"
    GIFT_CARD = "gift_card"
    DONATION = "donation"


class CouponStatus(StrEnum):
    ISSUED = "issued"
    USED = "used"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    VOIDED = "voided"  # open when its member was erased; its points are not returned


class Reward(Model):
    """Something members buy with points. A null stock or limit means unlimited."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255)
    description = fields.TextField(null=True)
    kind = fields.CharEnumField(RewardKind, max_length=20)
    points_cost = fields.IntField()
    value_cents = fields.BigIntField(null=True)
    percent = fields.IntField(null=True)
    sku = fields.CharField(max_length=64, null=True)
    cause = fields.CharField(max_length=255, null=True)
    category = fields.CharField(max_length=128, null=True)
    min_tier: fields.ForeignKeyNullableRelation["Tier"] = fields.ForeignKeyField(
        "models.Tier", related_name="rewards", null=True, on_delete=fields.RESTRICT
    )
    min_tier_id: int | None
    min_order_cents = fields.BigIntField(default=0)
    stock = fields.IntField(null=True)
    per_member_limit = fields.IntField(null=True)
    coupon_days = fields.IntField(default=30)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    active = fields.BooleanField(default=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "rewards"


class Coupon(Model):
    """A code issued by a redemption: issued, then used once, expired or cancelled."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    reward: fields.ForeignKeyRelation[Reward] = fields.ForeignKeyField(
        "models.Reward", related_name="coupons", on_delete=fields.RESTRICT
    )
    reward_id: int
    member: fields.ForeignKeyRelation["Member"] = fields.ForeignKeyField(
        "models.Member", related_name="coupons", on_delete=fields.RESTRICT
    )
    member_id: int
    status = fields.CharEnumField(CouponStatus, max_length=12, default=CouponStatus.ISSUED)
    points = fields.IntField()
    redeem_key = fields.CharField(max_length=255, unique=True)
    expires_at = fields.DatetimeField(db_index=True)
    order_external_id = fields.CharField(max_length=255, null=True)
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "coupons"
        indexes = (("member_id", "reward_id"), ("created_at",))


class Donation(Model):
    """Points a member gave to a charity cause through a donation reward."""

    id = fields.IntField(primary_key=True)
    reward: fields.ForeignKeyRelation[Reward] = fields.ForeignKeyField(
        "models.Reward", related_name="donations", on_delete=fields.RESTRICT
    )
    reward_id: int
    member: fields.ForeignKeyRelation["Member"] = fields.ForeignKeyField(
        "models.Member", related_name="donations", on_delete=fields.RESTRICT
    )
    member_id: int
    cause = fields.CharField(max_length=255, db_index=True)
    points = fields.IntField()
    value_cents = fields.BigIntField()
    redeem_key = fields.CharField(max_length=255, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "donations"
        indexes = (("created_at",),)
