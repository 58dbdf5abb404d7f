"""Segment queries (admin): members matching a filter, and the same as CSV text."""

from __future__ import annotations

from functools import partial

import strawberry

from api.context import Info, Role, require
from api.relay import Connection, connection
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
        fetch = partial(segments.page, (filter or SegmentFilter()).to_domain())
        return await connection(fetch, SegmentMember.of, first, after, key=SegmentMember.key)

    @strawberry.field(description="The whole segment as CSV text, a header line first (admin).")
    async def segment_csv(self, info: Info, filter: SegmentFilter | None = None) -> str:
        require(info, Role.ADMIN)
        return await segments.to_csv((filter or SegmentFilter()).to_domain())
