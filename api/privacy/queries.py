"""Privacy queries (admin): a member's export and the audit log."""

from __future__ import annotations

from functools import partial
from typing import cast

import strawberry
from strawberry.scalars import JSON

from api.audit import decoded
from api.context import Info, Role, require
from api.privacy.types import AuditEntryType, AuditLogFilter
from api.relay import Connection, connection, decode_id
from loyalty.errors import LoyaltyError
from loyalty.privacy import audit, export


@strawberry.type
class PrivacyQuery:
    @strawberry.field(
        description="Everything held about a member, as one JSON document; null when there is "
        "no such member (admin). Each call is in the audit log."
    )
    async def export_member(self, info: Info, id: strawberry.ID) -> JSON | None:
        require(info, Role.ADMIN)
        try:
            return cast(JSON, await export.export_member(decode_id("Member", id)))
        except LoyaltyError:
            return None

    @strawberry.field(description="The audit log, newest first (admin).")
    async def audit_log(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: AuditLogFilter | None = None,
    ) -> Connection[AuditEntryType]:
        require(info, Role.ADMIN)
        where = audit.Filter()
        if filter is not None:
            target = decoded(filter.target) if filter.target else None
            if filter.target and target is None:
                target = str(filter.target)  # matches nothing an opaque id names
            where = filter.to_domain(target)
        return await connection(partial(audit.page, where), AuditEntryType.from_row, first, after)
