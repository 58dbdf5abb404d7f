"""Reward queries: the catalogue, coupon validation at checkout, donation totals."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from api.context import STAFF, Info, Role, require
from api.relay import Connection, connection, decode_cursor, encode_cursor, page_size
from api.rewards.inputs import CartLineInput
from api.rewards.types import CauseTotal, CouponCheck, RewardType
from loyalty import rewards
from loyalty.errors import ErrorCode
from loyalty.money import from_cents
from loyalty.ratelimit import FailureLimiter

# Unknown codes per calling key per minute; a storefront validates for all its shoppers.
GUESS_LIMIT = FailureLimiter(limit=300, window=60.0)


@strawberry.type
class RewardQuery:
    @strawberry.field(description="The active catalogue; with a member token, affordability.")
    async def rewards(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[RewardType]:
        size = page_size(first)
        start = decode_cursor(after) or 0
        catalogue = await rewards.catalogue()
        missing = await rewards.affordability(info.context.member_id, catalogue)
        window = catalogue[start : start + size]
        return connection(
            [RewardType.from_row(r, missing.get(r.id)) for r in window],
            [encode_cursor(start + i + 1) for i in range(len(window))],
            has_next=start + size < len(catalogue),
            has_previous=start > 0,
        )

    @strawberry.field(description="Whether a code applies to a cart and what it is worth.")
    async def validate_coupon(
        self,
        info: Info,
        code: str,
        cart: list[CartLineInput] | None = None,
        shipping: Decimal = Decimal(0),
    ) -> CouponCheck:
        context = require(info, *STAFF)
        caller = context.role.value
        if GUESS_LIMIT.blocked(caller):
            blocked = rewards.CouponCheck(
                False, ErrorCode.RATE_LIMITED, "too many invalid codes; try again in a minute"
            )
            return CouponCheck.from_check(code, blocked, show_coupon=False)
        check = await rewards.validate(code, [line.to_domain() for line in cart or []], shipping)
        if check.code == ErrorCode.COUPON_NOT_FOUND:
            GUESS_LIMIT.fail(caller)
        return CouponCheck.from_check(code, check, show_coupon=True)

    @strawberry.field(description="Donations per charity cause (admin).")
    async def donation_totals(self, info: Info) -> list[CauseTotal]:
        require(info, Role.ADMIN)
        return [
            CauseTotal(
                cause=t.cause,
                donations=t.donations,
                points=t.points,
                value=from_cents(t.value_cents),
            )
            for t in await rewards.donation_totals()
        ]
