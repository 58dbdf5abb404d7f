"""Audit log entries and the payloads of the privacy mutations."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from api.errors import UserError
from api.members.types import MemberType
from api.relay import encode_id
from loyalty.privacy import audit
from models import AuditEntry


def global_id(target: str | None) -> str | None:
    """An entry's target (``Member:12``) as the API's opaque id of it."""
    if not target:
        return None
    name, _, pk = target.partition(":")
    return encode_id(name, int(pk)) if pk.isdigit() else target


@strawberry.type(name="AuditEntry")
class AuditEntryType:
    id: strawberry.ID
    at: datetime
    actor: str = strawberry.field(
        description="Who: admin or storefront with the key's fingerprint, or member and id."
    )
    operation: str = strawberry.field(description="The GraphQL operation, e.g. adjustPoints.")
    target: strawberry.ID | None = strawberry.field(description="The id of what it acted on.")
    input: JSON = strawberry.field(
        description="The arguments; personal values as keyed fingerprints."
    )
    changes: JSON = strawberry.field(
        description="[{target, field, before, after}] where the domain reports them."
    )

    @classmethod
    def from_row(cls, row: AuditEntry) -> AuditEntryType:
        found = global_id(row.target)
        return cls(
            id=strawberry.ID(encode_id("AuditEntry", row.id)),
            at=row.at,
            actor=row.actor,
            operation=row.operation,
            target=strawberry.ID(found) if found else None,
            input=cast(JSON, row.input),
            changes=cast(JSON, row.changes),
        )


@strawberry.input
class AuditLogFilter:
    target: strawberry.ID | None = strawberry.field(
        default=None, description="Entries about this id (a member's, a reward's, ...)."
    )
    operation: str | None = None
    since: datetime | None = None

    def to_domain(self, target: str | None) -> audit.Filter:
        return audit.Filter(target=target, operation=self.operation, since=self.since)


@strawberry.type
class EraseMemberPayload:
    member: MemberType | None = None
    closed_points: int = strawberry.field(
        default=0, description="The balance the erase entry closed."
    )
    voided_coupons: int = 0
    already_erased: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RevokeMemberTokensPayload:
    member: MemberType | None = None
    token_version: int | None = strawberry.field(
        default=None, description="Tokens issued under a lower version answer 401."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)
