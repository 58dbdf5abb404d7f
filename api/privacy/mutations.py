"""Privacy mutations (admin): erase a member, revoke its tokens."""

from __future__ import annotations

import strawberry

from api.context import Info, Role, require
from api.errors import payload
from api.members.types import MemberType
from api.privacy.types import EraseMemberPayload, RevokeMemberTokensPayload
from api.relay import decode_id
from loyalty import members
from loyalty.members import tokens
from loyalty.privacy import erasure


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(
        description="Erase a member's personal data, close its balance, void its open coupons "
        "and revoke its tokens (admin). Erasing it again changes nothing."
    )
    @payload(EraseMemberPayload)
    async def erase_member(self, info: Info, id: strawberry.ID, reason: str) -> EraseMemberPayload:
        context = require(info, Role.ADMIN)
        erased = await erasure.erase(context.settings, decode_id("Member", id), reason)
        return EraseMemberPayload(
            member=MemberType.from_row(erased.member),
            closed_points=erased.closed_points,
            voided_coupons=erased.voided_coupons,
            already_erased=erased.replayed,
        )

    @strawberry.mutation(description="Revoke every token issued to a member so far (admin).")
    @payload(RevokeMemberTokensPayload)
    async def revoke_member_tokens(
        self, info: Info, member_id: strawberry.ID
    ) -> RevokeMemberTokensPayload:
        require(info, Role.ADMIN)
        member = await members.get(decode_id("Member", member_id, field="memberId"))
        version = await tokens.revoke_all(member.id)
        return RevokeMemberTokensPayload(
            member=MemberType.from_row(await members.get(member.id)), token_version=version
        )
