"""Accountability and privacy: the audit log, erasure tombstones and token revocations."""

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.members import Member


class AuditEntry(Model):
    """One change made through the API: who, what, on what, with which input and effect.

    Append-only: no API updates or deletes an entry, and a database trigger refuses both.
    ``actor`` names a key by its fingerprint (never the key) or a member by id; ``changes``
    holds ``{target, field, before, after}`` items where the domain reports them.
    """

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True)
    actor = fields.CharField(max_length=64)
    operation = fields.CharField(max_length=64)
    target = fields.CharField(max_length=128, null=True)
    input: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    changes: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)

    class Meta:
        table = "audit_log"
        indexes = (("target", "id"), ("operation", "id"), ("at",))


class Erasure(Model):
    """The tombstone of an erased member: a keyed digest of the shop's id it had (the id itself
    is gone), so a platform delivery for that customer does not silently re-link it."""

    id = fields.IntField(primary_key=True)
    member: fields.OneToOneRelation["Member"] = fields.OneToOneField(
        "models.Member", related_name="erasure", on_delete=fields.RESTRICT
    )
    member_id: int
    external_id_digest = fields.CharField(max_length=64, db_index=True)
    reason = fields.CharField(max_length=255)
    erased_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "member_erasures"


class TokenRevocation(Model):
    """A member's token version was raised: tokens carrying a lower one answer 401. Processes
    follow this table by id to keep their cached versions current."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation["Member"] = fields.ForeignKeyField(
        "models.Member", related_name="token_revocations", on_delete=fields.RESTRICT
    )
    member_id: int
    version = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "token_revocations"
