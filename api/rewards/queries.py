"""Reward queries: the catalogue, coupon validation at checkout, donation totals."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Annotated

import strawberry

from api.context import STAFF, Info, Role, require
from api.relay import Connection, connection, listed, position
from api.rewards.inputs import CartLineInput
from api.rewards.types import CauseTotal, CouponCheck, RewardType
from loyalty import rewards
from loyalty.ops import guessing

SHOPPER_ID = strawberry.argument(
    description="The storefront's id for its shopper or session: failed codes count per shopper."
)

EVERY = strawberry.argument(
    description="Every reward, newest first: also inactive, out of stock or outside its "
    "window (admin)."
)


@strawberry.type
class RewardQuery:
    @strawberry.field(description="The active catalogue; with a member token, affordability.")
    async def rewards(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        every: Annotated[bool, EVERY] = False,
    ) -> Connection[RewardType]:
        if every:
            require(info, Role.ADMIN)
        catalogue = await (rewards.every_reward() if every else rewards.catalogue())
        missing = await rewards.affordability(info.context.member_id, catalogue)
        node = partial(RewardType.listed, missing)
        return await connection(listed(catalogue), node, first, after, key=position)

    @strawberry.field(description="Whether a code applies to a cart and what it is worth.")
    async def validate_coupon(
        self,
        info: Info,
        code: str,
        cart: list[CartLineInput] | None = None,
        shipping: Decimal = Decimal(0),
        shopper_id: Annotated[str | None, SHOPPER_ID] = None,
    ) -> CouponCheck:
        context = require(info, *STAFF)
        shopper = context.shopper(shopper_id)
        lines = [line.to_domain() for line in cart or []]
        check = await guessing.validate(shopper, code, lines, shipping)
        return CouponCheck.from_check(code, check, show_coupon=True)

    @strawberry.field(description="Donations per charity cause (admin).")
    async def donation_totals(self, info: Info) -> list[CauseTotal]:
        require(info, Role.ADMIN)
        return [CauseTotal.of(total) for total in await rewards.donation_totals()]
