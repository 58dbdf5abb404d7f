"""Members of the programme. Money is kept in integer cents: exact on every database."""

from tortoise import fields
from tortoise.models import Model


class Member(Model):
    """A shop customer enrolled in the programme. loyalty.ledger owns the balance."""

    id = fields.IntField(primary_key=True)
    external_id = fields.CharField(max_length=255, unique=True)
    email = fields.CharField(max_length=320)
    email_normalized = fields.CharField(max_length=320, db_index=True)
    name = fields.CharField(max_length=255, null=True)
    birthday = fields.DateField(null=True)
    balance = fields.IntField(default=0)
    pending = fields.IntField(default=0)
    lifetime_points = fields.IntField(default=0)
    # Points a refund or clawback could not take back (the balance was already spent): they
    # are settled before any points are returned to the member.
    shortfall = fields.IntField(default=0, db_default=0)
    lifetime_spend_cents = fields.BigIntField(default=0)
    referral_code = fields.CharField(max_length=32, unique=True)
    referred_by: fields.ForeignKeyNullableRelation["Member"] = fields.ForeignKeyField(
        "models.Member", related_name="referees", null=True, on_delete=fields.RESTRICT
    )
    referred_by_id: int | None
    last_order_at = fields.DatetimeField(null=True)
    # Member tokens carry the version they were issued under; raising it revokes them all.
    token_version = fields.IntField(default=0, db_default=0)
    # Set when the member was erased (its personal data is gone) ...
    erased_at = fields.DatetimeField(null=True)
    # ... or when the shop deleted the customer: orders no longer earn.
    closed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "members"
        indexes = (("created_at",),)  # a report reads its unfinished last day by date
