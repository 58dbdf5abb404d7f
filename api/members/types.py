"""Member and ledger-entry types."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.context import Info
from api.offers.types import Offer
from api.relay import Connection, connection, encode_id, page_size
from loyalty import members, rewards
from loyalty.ledger import history
from loyalty.members import referrals as referral_service
from loyalty.members import statements
from loyalty.money import from_cents
from loyalty.offers import serving
from loyalty.programme import config, tiers
from models import EntryKind, LedgerEntry, Member

if TYPE_CHECKING:
    from api.program.types import Tier, TierProgress
    from api.rewards.types import CouponType
    from api.statements.types import StatementType

PointsKind = strawberry.enum(EntryKind, name="PointsKind")


@strawberry.type
class PointsTransaction:
    id: strawberry.ID
    kind: PointsKind  # type: ignore[valid-type]
    points: int
    balance_after: int
    shortfall: int = strawberry.field(
        description="Points this debit could not take because the balance was already spent."
    )
    settled: int = strawberry.field(
        description="Points given back that paid an open shortfall instead of the balance."
    )
    created_at: datetime
    expires_at: datetime | None
    source: str | None

    @classmethod
    def from_row(cls, row: LedgerEntry | history.Entry) -> PointsTransaction:
        return cls(
            id=strawberry.ID(encode_id("PointsTransaction", row.id)),
            kind=row.kind,
            points=row.points,
            balance_after=row.balance_after,
            shortfall=row.shortfall,
            settled=row.settled,
            created_at=row.created_at,
            expires_at=row.expires_at,
            source=row.source,
        )


@strawberry.type
class Referrals:
    invited: int
    converted: int
    points_earned: int


@strawberry.type(name="Member")
class MemberType:
    row: strawberry.Private[Member]
    # The member's tier and the configuration when they were read with the member (``me``).
    account: strawberry.Private[members.Account | None]
    id: strawberry.ID
    external_id: str
    email: str
    name: str | None
    birthday: date | None
    points_balance: int
    pending_points: int
    lifetime_points: int
    lifetime_spend: Decimal
    referral_code: str
    created_at: datetime
    last_order_at: datetime | None
    erased_at: datetime | None = strawberry.field(
        description="When the member was erased: its personal data is gone."
    )
    closed_at: datetime | None = strawberry.field(
        description="When the shop deleted the customer: its orders no longer earn."
    )

    @classmethod
    def from_row(cls, row: Member, account: members.Account | None = None) -> MemberType:
        return cls(
            row=row,
            account=account,
            id=strawberry.ID(encode_id("Member", row.id)),
            external_id=row.external_id,
            email=row.email,
            name=row.name,
            birthday=row.birthday,
            points_balance=row.balance,
            pending_points=row.pending,
            lifetime_points=row.lifetime_points,
            lifetime_spend=from_cents(row.lifetime_spend_cents),
            referral_code=row.referral_code,
            created_at=row.created_at,
            last_order_at=row.last_order_at,
            erased_at=row.erased_at,
            closed_at=row.closed_at,
        )

    @strawberry.field(description="Ledger entries, newest first.")
    async def transactions(
        self, first: int | None = 20, after: str | None = None
    ) -> Connection[PointsTransaction]:
        fetch = partial(history.entries, self.row.id)
        return await connection(fetch, PointsTransaction.from_row, first, after)

    @strawberry.field(description="Points whose lots expire within the given number of days.")
    async def expiring_points(self, within_days: int = 30) -> int:
        return await history.expiring_points(self.row.id, max(0, min(within_days, 3660)))

    @strawberry.field(
        description=(
            "Personalised offers, each with its reason: up to a quarter of the list are "
            "catalogue rewards (by affinity and affordability), the rest products."
        )
    )
    async def offers(self, info: Info, first: int = 10) -> list[Offer]:
        read = self.account
        rewards_part, products = await serving.offers(
            self.row,
            page_size(first),
            tier=read.tier if read else None,
            config=read.config if read else None,
        )
        secret = info.context.settings.secret.value
        return [
            *(Offer.for_reward(r, self.row.id, secret) for r in rewards_part),
            *(Offer.for_product(p, self.row.id, secret) for p in products),
        ]

    @strawberry.field(description="What a reminder e-mail or the app's home screen shows.")
    async def statement(
        self, info: Info
    ) -> Annotated[StatementType, strawberry.lazy("api.statements.types")]:
        from api.statements.types import StatementType

        statement = await statements.build(self.row.id)
        return StatementType.from_statement(statement, info.context.settings.secret.value)

    @strawberry.field(description="Coupons from redemptions, newest first.")
    async def coupons(
        self, first: int | None = 20, after: str | None = None
    ) -> Connection[Annotated[CouponType, strawberry.lazy("api.rewards.types")]]:
        from api.rewards.types import CouponType

        fetch = partial(rewards.member_coupons, self.row.id)
        return await connection(fetch, lambda c: CouponType.from_row(c, c.reward), first, after)

    @strawberry.field(description="Members this member referred, and what it earned.")
    async def referrals(self) -> Referrals:
        found = await referral_service.summary(self.row.id)
        return Referrals(
            invited=found.invited, converted=found.converted, points_earned=found.points_earned
        )

    @strawberry.field(description="The member's tier, if any.")
    async def tier(self) -> Annotated[Tier, strawberry.lazy("api.program.types")] | None:
        from api.program.types import Tier

        state = self.account.tier if self.account else await config.member_tier(self.row.id)
        return Tier.from_row(state.tier) if state.tier else None

    @strawberry.field(description="The next tier and what is still missing for it.")
    async def tier_progress(
        self,
    ) -> Annotated[TierProgress, strawberry.lazy("api.program.types")]:
        from api.program.types import TierProgress

        return TierProgress.of(await tiers.progress(self.row.id))
