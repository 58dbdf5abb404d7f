"""Programme configuration (admin) and recordAction (storefront)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Protocol, TypeVar

import strawberry

from api.context import STAFF, Info, Role, require
from api.errors import UserError, or_user_errors, payload
from api.members.types import MemberType, PointsTransaction
from api.program.inputs import (
    ActionRuleInput,
    CampaignInput,
    EarningRuleInput,
    PlanInput,
    RecordActionInput,
    TierInput,
)
from api.program.types import ActionRule, Campaign, Cap, EarningRule, Plan, Tier
from api.relay import decode_id
from loyalty import members
from loyalty.programme import actions, admin
from models import ActionRule as ActionRuleRow
from models import Campaign as CampaignRow
from models import EarningCap, Member, Period
from models import EarningRule as EarningRuleRow
from models import Plan as PlanRow
from models import Tier as TierRow

R_contra = TypeVar("R_contra", contravariant=True)
P_co = TypeVar("P_co", covariant=True)


@strawberry.type
class EarningRulePayload:
    rule: EarningRule | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: EarningRuleRow) -> EarningRulePayload:
        return cls(rule=EarningRule.from_row(row))


@strawberry.type
class CampaignPayload:
    campaign: Campaign | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: CampaignRow) -> CampaignPayload:
        return cls(campaign=Campaign.from_row(row))


@strawberry.type
class TierPayload:
    tier: Tier | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: TierRow) -> TierPayload:
        return cls(tier=Tier.from_row(row))


@strawberry.type
class ActionRulePayload:
    rule: ActionRule | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: ActionRuleRow) -> ActionRulePayload:
        return cls(rule=ActionRule.from_row(row))


@strawberry.type
class CapPayload:
    cap: Cap | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: EarningCap | None) -> CapPayload:
        return cls(cap=Cap(period=row.period, max_points=row.max_points) if row else None)


@strawberry.type
class PlanPayload:
    plan: Plan | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: PlanRow) -> PlanPayload:
        return cls(plan=Plan.from_row(row))


@strawberry.type
class SubscribePayload:
    ends_at: datetime | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RecordActionPayload:
    points: int = 0
    transaction: PointsTransaction | None = None
    member: MemberType | None = None
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, result: actions.ActionResult, member: Member) -> RecordActionPayload:
        return cls(
            points=result.points,
            transaction=PointsTransaction.from_row(result.entry) if result.entry else None,
            member=MemberType.from_row(member),
            replayed=result.replayed,
        )


class Saved(Protocol[R_contra, P_co]):
    """The payload type of an admin save: made of the saved row, or of userErrors."""

    def __call__(self, *, user_errors: list[UserError]) -> P_co: ...

    def of(self, row: R_contra, /) -> P_co: ...


async def admin_save(
    info: Info, payload_type: Saved[R_contra, P_co], save: Callable[[], Awaitable[R_contra]]
) -> P_co:
    """The one path of the admin saves: admin only, then the domain save, its row shaped into
    the payload, or a domain error as the payload's userErrors."""
    require(info, Role.ADMIN)

    async def saved() -> P_co:
        return payload_type.of(await save())

    return await or_user_errors(payload_type, saved())


@strawberry.type
class ProgramMutation:
    @strawberry.mutation(description="Create or update a category/product bonus rule (admin).")
    async def save_earning_rule(self, info: Info, input: EarningRuleInput) -> EarningRulePayload:
        return await admin_save(info, EarningRulePayload, input.save)

    @strawberry.mutation(description="Create or update a campaign (admin).")
    async def save_campaign(self, info: Info, input: CampaignInput) -> CampaignPayload:
        return await admin_save(info, CampaignPayload, input.save)

    @strawberry.mutation(description="Create or update a tier (admin).")
    async def save_tier(self, info: Info, input: TierInput) -> TierPayload:
        return await admin_save(info, TierPayload, input.save)

    @strawberry.mutation(description="Set the points and limit of an action (admin).")
    async def save_action_rule(self, info: Info, input: ActionRuleInput) -> ActionRulePayload:
        return await admin_save(info, ActionRulePayload, input.save)

    @strawberry.mutation(description="Cap order points per order or period; null removes it.")
    async def set_earning_cap(
        self,
        info: Info,
        period: Period,
        max_points: int | None = None,
    ) -> CapPayload:
        return await admin_save(info, CapPayload, partial(admin.set_cap, period, max_points))

    @strawberry.mutation(description="Create or update a paid membership plan (admin).")
    async def save_plan(self, info: Info, input: PlanInput) -> PlanPayload:
        return await admin_save(info, PlanPayload, input.save)

    @strawberry.mutation(description="Record a member's paid subscription (admin).")
    @payload(SubscribePayload)
    async def subscribe_member(
        self, info: Info, member_id: strawberry.ID, plan_id: strawberry.ID, starts_at: datetime
    ) -> SubscribePayload:
        require(info, Role.ADMIN)
        member = await members.get(decode_id("Member", member_id, field="memberId"))
        plan = decode_id("Plan", plan_id, field="planId")
        subscription = await admin.subscribe(member.id, plan, starts_at)
        return SubscribePayload(ends_at=subscription.ends_at)

    @strawberry.mutation(description="Points for an action; the same reference earns once.")
    @payload(RecordActionPayload)
    async def record_action(self, info: Info, input: RecordActionInput) -> RecordActionPayload:
        context = require(info, *STAFF)
        member, action = input.member_external_id, input.action
        result = await actions.record_action(context.settings, member, action, input.reference)
        return RecordActionPayload.of(result, await members.by_external_id(member))
