"""Segment queries (admin): members matching a filter, and the same as CSV text."""

from __future__ import annotations

import strawberry

from api.context import Info, Role, require
from api.relay import Connection, connection, decode_cursor, encode_cursor, page_size
from api.segments.types import SegmentFilter, SegmentMember
from loyalty.reports import segments


@strawberry.type
class SegmentQuery:
    @strawberry.field(description="Members matching the filter, in enrolment order (admin).")
    async def segment(
        self,
        info: Info,
        filter: SegmentFilter | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[SegmentMember]:
        require(info, Role.ADMIN)
        found, more = await segments.page(
            (filter or SegmentFilter()).to_domain(), page_size(first), decode_cursor(after)
        )
        return connection(
            [SegmentMember.from_scored(member, scored) for member, scored in found],
            [encode_cursor(member.id) for member, _ in found],
            has_next=more,
            has_previous=after is not None,
        )

    @strawberry.field(description="The whole segment as CSV text, a header line first (admin).")
    async def segment_csv(self, info: Info, filter: SegmentFilter | None = None) -> str:
        require(info, Role.ADMIN)
        return await segments.to_csv((filter or SegmentFilter()).to_domain())
