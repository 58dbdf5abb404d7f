"""Referrals: a new member enrols with a referral code; the referee gets a welcome bonus at
once, the referrer when the referee's first qualifying order arrives (yearly cap), and refunds
within the clawback window that bring that order below the minimum take the reward back.

Abuse rules: one referrer per member, set at enrolment only; never to itself (same e-mail after
normalisation: case, +alias, gmail dots); an e-mail that is already enrolled gets no referral.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import ledger
from loyalty.errors import ErrorCode, InvalidInput
from loyalty.ledger import keys
from loyalty.ledger.expiry import lot_expires_at
from loyalty.money import to_cents
from loyalty.settings import Settings
from models import EntryKind, LedgerEntry, Member, Order


async def referrer_for(code: str, email_normalized: str) -> Member:
    """The member whose code this is, if this new e-mail may be referred by them."""
    referrer = await Member.get_or_none(referral_code=code.strip().upper())
    if referrer is None:
        raise InvalidInput(
            "unknown referral code", field="referralCode", code=ErrorCode.REFERRAL_CODE_UNKNOWN
        )
    if referrer.email_normalized == email_normalized or await Member.exists(
        email_normalized=email_normalized
    ):
        raise InvalidInput(
            "this e-mail cannot be referred", field="referralCode", code=ErrorCode.SELF_REFERRAL
        )
    return referrer


async def welcome(conn: BaseDBAsyncClient, settings: Settings, member: Member) -> None:
    """The referee's welcome bonus, in the enrolment transaction."""
    if settings.referral_welcome_points > 0:
        await ledger.credit(
            conn,
            member.id,
            settings.referral_welcome_points,
            kind=EntryKind.REFERRAL,
            key=keys.referral_welcome(member.id),
            source="referral:welcome",
            expires_at=lot_expires_at(settings, member.created_at),
        )


async def on_order(
    conn: BaseDBAsyncClient,
    settings: Settings,
    member_id: int,
    referred_by_id: int | None,
    order: Order,
) -> None:
    """Reward the referrer for the referee's first qualifying order (once, within the cap)."""
    if referred_by_id is None or settings.referral_referrer_points <= 0:
        return
    if not qualifies(settings, order.eligible_cents):
        return
    if await ledger.existing(keys.referral_reward(member_id), conn) is not None:
        return
    since = order.placed_at - timedelta(days=365)
    earned = (
        await LedgerEntry.filter(
            member_id=referred_by_id,
            kind=EntryKind.REFERRAL,
            source__startswith="referee:",
            created_at__gte=since,
        )
        .using_db(conn)
        .count()
    )
    if earned >= settings.referral_yearly_cap:
        return
    if not await Member.filter(id=referred_by_id, erased_at__isnull=True).using_db(conn).exists():
        return  # an erased member earns nothing more
    await ledger.credit(
        conn,
        referred_by_id,
        settings.referral_referrer_points,
        kind=EntryKind.REFERRAL,
        key=keys.referral_reward(member_id),
        source=f"referee:{member_id}:order:{order.external_id}",
        expires_at=lot_expires_at(settings, order.placed_at),
    )


def qualifies(settings: Settings, eligible_cents: int) -> bool:
    """Whether an order's eligible amount (net of refunds) reaches the referral minimum."""
    return eligible_cents >= to_cents(settings.referral_min_order, field="minOrder")


async def on_refund(
    conn: BaseDBAsyncClient, settings: Settings, order: Order, now: datetime
) -> None:
    """Refunds inside the clawback window that bring the qualifying order below the minimum
    take the referrer's reward back (a full refund, or a near-full one alike)."""
    if qualifies(settings, order.eligible_cents - order.refunded_cents):
        return
    reward = await ledger.existing(keys.referral_reward(order.member_id), conn)
    if reward is None or not (reward.source or "").endswith(f":order:{order.external_id}"):
        return
    if now - order.placed_at > timedelta(days=settings.referral_clawback_days):
        return
    await ledger.debit(
        conn,
        reward.member_id,
        reward.points,
        kind=EntryKind.REVERSAL,
        key=keys.referral_clawback(order.member_id),
        source=f"referee-refund:{order.external_id}",
        partial=True,
        prefer_lot_entry_id=reward.id,
    )


@dataclass(frozen=True)
class ReferralSummary:
    invited: int
    converted: int
    points_earned: int


async def summary(member_id: int) -> ReferralSummary:
    invited = await Member.filter(referred_by_id=member_id).count()
    rewards: list[int] = await LedgerEntry.filter(  # type: ignore[assignment]
        member_id=member_id, kind=EntryKind.REFERRAL, source__startswith="referee:"
    ).values_list("points", flat=True)
    clawed: list[int] = await LedgerEntry.filter(  # type: ignore[assignment]
        member_id=member_id, kind=EntryKind.REVERSAL, source__startswith="referee-refund:"
    ).values_list("points", flat=True)
    earned = sum(rewards) + sum(clawed)
    return ReferralSummary(invited, len(rewards) - len(clawed), earned)
