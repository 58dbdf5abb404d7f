"""previewPoints: what a cart would earn, computed by the same rules as recordOrder."""

from __future__ import annotations

import strawberry

from api.context import STAFF, Info, Role, require
from api.orders.inputs import PreviewPointsInput
from api.orders.types import PointsPreview
from loyalty import members, orders


@strawberry.type
class OrderQuery:
    @strawberry.field(description="Points a cart would earn; nothing is written.")
    async def preview_points(self, info: Info, input: PreviewPointsInput) -> PointsPreview:
        context = require(info, *STAFF, Role.MEMBER)
        member_external_id = input.member_external_id
        if context.role == Role.MEMBER:
            member_external_id = (await members.get(context.member_id or 0)).external_id
        breakdown = await orders.preview(
            context.settings,
            [line.to_domain() for line in input.lines],
            input.discount,
            member_external_id,
        )
        return PointsPreview.from_breakdown(breakdown)
