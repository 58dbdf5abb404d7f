"""Member queries: me, member, members."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.context import STAFF, Info, Role, require
from api.members.types import MemberType
from api.relay import Connection, connection, decode_id
from loyalty import members
from loyalty.errors import LoyaltyError
from loyalty.reports import segments
from loyalty.reports.segments import SegmentFilter as Filter
from models import Member

if TYPE_CHECKING:
    from api.segments.types import SegmentFilter


@strawberry.type
class MemberQuery:
    @strawberry.field(description="The member a member token names.")
    async def me(self, info: Info) -> MemberType | None:
        context = require(info, Role.MEMBER)
        try:
            found = await members.account(context.member_id or 0)
        except LoyaltyError:
            return None
        return MemberType.from_row(found.member, found)

    @strawberry.field(description="A member by id or by the shop's customer id (staff).")
    async def member(
        self, info: Info, id: strawberry.ID | None = None, external_id: str | None = None
    ) -> MemberType | None:
        require(info, *STAFF)
        if id is not None:
            return await _found(lambda: members.get(decode_id("Member", id)))
        return await _found(partial(members.by_external_id, external_id)) if external_id else None

    @strawberry.field(
        description="Members in enrolment order, optionally a segment (tier, points, last "
        "order, RFM, at-risk) (admin)."
    )
    async def members(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: Annotated[SegmentFilter, strawberry.lazy("api.segments.types")] | None = None,
    ) -> Connection[MemberType]:
        require(info, Role.ADMIN)
        fetch = members.page if filter is None else partial(_segment_members, filter.to_domain())
        return await connection(fetch, MemberType.from_row, first, after)


async def _found(lookup: Callable[[], Awaitable[Member]]) -> MemberType | None:
    """The member a lookup finds; None when it does not (a malformed id included)."""
    try:
        return MemberType.from_row(await lookup())
    except LoyaltyError:
        return None


async def _segment_members(
    f: Filter, first: int, after_id: int | None
) -> tuple[list[Member], bool]:
    found, more = await segments.page(f, first, after_id)
    return [member for member, _ in found], more
