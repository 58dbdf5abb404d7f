"""The points ledger: immutable entries, and the lots that earn entries open."""

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.members import Member
    from models.orders import Order


class EntryKind(StrEnum):
    EARN_ORDER = "earn_order"
    EARN_ACTION = "earn_action"
    BONUS = "bonus"
    REFERRAL = "referral"
    REDEEM = "redeem"
    EXPIRE = "expire"
    REVERSAL = "reversal"
    ADJUST = "adjust"
    DONATE = "donate"
    ERASE = "erase"  # closes the balance of an erased member


class LedgerEntry(Model):
    """One posted change of the balance of a member. Written once, never updated or deleted."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation["Member"] = fields.ForeignKeyField(
        "models.Member", related_name="entries", on_delete=fields.RESTRICT
    )
    member_id: int
    kind = fields.CharEnumField(EntryKind, max_length=16)
    points = fields.IntField()
    balance_after = fields.IntField()
    shortfall = fields.IntField(default=0)
    # Open shortfall of the member this credit paid off instead of adding to the balance.
    settled = fields.IntField(default=0, db_default=0)
    idempotency_key = fields.CharField(max_length=255, unique=True)
    source = fields.CharField(max_length=255, null=True)
    expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ledger_entries"
        # created_at: a report reads its unfinished last day by date (loyalty.reports).
        indexes = (("member_id", "id"), ("created_at",))


class Lot(Model):
    """Points opened by one credit entry. Spending and expiry lower remaining, oldest first."""

    id = fields.BigIntField(primary_key=True)
    entry: fields.OneToOneRelation[LedgerEntry] = fields.OneToOneField(
        "models.LedgerEntry", related_name="lot", on_delete=fields.RESTRICT
    )
    entry_id: int
    member: fields.ForeignKeyRelation["Member"] = fields.ForeignKeyField(
        "models.Member", related_name="lots", on_delete=fields.RESTRICT
    )
    member_id: int
    points = fields.IntField()
    remaining = fields.IntField()
    expires_at = fields.DatetimeField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "lots"
        indexes = (("member_id", "remaining"),)


class LotUse(Model):
    """How much of one lot a debit consumed, so returned points get the lot's expiry back."""

    id = fields.BigIntField(primary_key=True)
    entry: fields.ForeignKeyRelation[LedgerEntry] = fields.ForeignKeyField(
        "models.LedgerEntry", related_name="lot_uses", on_delete=fields.RESTRICT
    )
    entry_id: int
    lot: fields.ForeignKeyRelation[Lot] = fields.ForeignKeyField(
        "models.Lot", related_name="uses", on_delete=fields.RESTRICT
    )
    lot_id: int
    points = fields.IntField()

    class Meta:
        table = "lot_uses"


class PendingStatus(StrEnum):
    PENDING = "pending"
    RELEASED = "released"
    CANCELLED = "cancelled"


class PendingCredit(Model):
    """Order points held back for the return window, released to the ledger by the jobs runner."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation["Member"] = fields.ForeignKeyField(
        "models.Member", related_name="pending_credits", on_delete=fields.RESTRICT
    )
    member_id: int
    order: fields.OneToOneRelation["Order"] = fields.OneToOneField(
        "models.Order", related_name="pending_credit", on_delete=fields.RESTRICT
    )
    order_id: int
    points = fields.IntField()
    available_at = fields.DatetimeField(db_index=True)
    status = fields.CharEnumField(PendingStatus, max_length=10, default=PendingStatus.PENDING)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "pending_credits"
