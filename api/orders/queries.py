"""previewPoints: what a cart would earn, computed by the same rules as recordOrder."""

from __future__ import annotations

import strawberry

from api.context import STAFF, Info, Role, require
from api.orders.inputs import PreviewPointsInput
from api.orders.types import PointsPreview
from loyalty import orders


@strawberry.type
class OrderQuery:
    @strawberry.field(description="Points a cart would earn; nothing is written.")
    async def preview_points(self, info: Info, input: PreviewPointsInput) -> PointsPreview:
        context = require(info, *STAFF, Role.MEMBER)
        member = await context.member_external_id(input.member_external_id)
        lines = [line.to_domain() for line in input.lines]
        breakdown = await orders.preview(context.settings, lines, input.discount, member)
        return PointsPreview.from_breakdown(breakdown)
