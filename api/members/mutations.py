"""Member mutations: enrolment, member tokens, point adjustments."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from api.context import STAFF, Info, Role, require
from api.errors import UserError, payload
from api.members.types import MemberType, PointsTransaction
from api.relay import decode_id
from loyalty import members
from loyalty.ledger import adjust
from loyalty.members import tokens
from loyalty.orders import guests
from models import LedgerEntry, Member


@strawberry.input
class EnrollMemberInput:
    external_id: str
    email: str
    name: str | None = None
    birthday: date | None = None
    referral_code: str | None = None

    def to_domain(self) -> members.EnrollInput:
        return members.EnrollInput(
            self.external_id, self.email, self.name, self.birthday, self.referral_code
        )


@strawberry.type
class EnrollMemberPayload:
    member: MemberType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class IssueMemberTokenPayload:
    token: str | None = None
    expires_at: datetime | None = None
    member: MemberType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class AdjustPointsInput:
    member_id: strawberry.ID
    points: int
    reason: str
    idempotency_key: str | None = None


@strawberry.type
class AdjustPointsPayload:
    transaction: PointsTransaction | None = None
    member: MemberType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, entry: LedgerEntry, member: Member) -> AdjustPointsPayload:
        return cls(
            transaction=PointsTransaction.from_row(entry), member=MemberType.from_row(member)
        )


@strawberry.type
class MemberMutation:
    @strawberry.mutation
    @payload(EnrollMemberPayload)
    async def enroll_member(self, info: Info, input: EnrollMemberInput) -> EnrollMemberPayload:
        context = require(info, *STAFF)
        member = await guests.enroll_and_claim(input.to_domain(), context.settings)
        return EnrollMemberPayload(member=MemberType.from_row(member))

    @strawberry.mutation
    @payload(IssueMemberTokenPayload)
    async def issue_member_token(self, info: Info, external_id: str) -> IssueMemberTokenPayload:
        context = require(info, *STAFF)
        member = await members.by_external_id(external_id, field="externalId")
        token, expires_at = tokens.issue(member.id, context.settings, version=member.token_version)
        shaped = MemberType.from_row(member)
        return IssueMemberTokenPayload(token=token, expires_at=expires_at, member=shaped)

    @strawberry.mutation
    @payload(AdjustPointsPayload)
    async def adjust_points(self, info: Info, input: AdjustPointsInput) -> AdjustPointsPayload:
        require(info, Role.ADMIN)
        member_id = decode_id("Member", input.member_id, field="memberId")
        key = input.idempotency_key
        posted = await adjust.adjust_points(member_id, input.points, input.reason, key)
        return AdjustPointsPayload.of(posted.entry, await members.get(member_id))
