"""Redeeming a reward: the points are debited (oldest lots first) and the coupon issued (or the
donation recorded) in one transaction. The member's row lock (the conditional debit)
serialises one member's redemptions, and stock is a conditional
``UPDATE rewards SET stock = stock - 1 WHERE stock > 0``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db, ledger
from loyalty.codes import new_code
from loyalty.errors import Conflict, ErrorCode, InvalidInput
from loyalty.events import outbox
from loyalty.ledger import keys
from loyalty.rewards.catalogue import check_tier, get_reward, unavailable
from models import (
    Coupon,
    CouponStatus,
    Donation,
    EntryKind,
    Reward,
    RewardKind,
)


def _reward_source(reward: Reward) -> str:
    """The source of a redemption's ledger entry: which reward it bought."""
    return f"reward:{reward.id}"


@dataclass(frozen=True)
class Redemption:
    reward: Reward
    coupon: Coupon | None
    donation: Donation | None
    entry_id: int
    replayed: bool


async def redeem(
    member_id: int, reward_id: int, *, key: str | None = None, now: datetime | None = None
) -> Redemption:
    """Debit the reward's points and issue its coupon (or record the donation), atomically."""
    now = now or datetime.now(UTC)
    reward = await get_reward(reward_id)
    redeem_key = keys.redemption(member_id, key)
    if len(redeem_key) > 255:
        raise InvalidInput("idempotencyKey is too long", field="idempotencyKey")
    replay = await _redemption_by_key(redeem_key, reward)
    if replay is not None:
        return replay
    problem = unavailable(reward, now)
    if problem is not None:
        raise problem
    await check_tier(member_id, reward)

    async def write(conn: BaseDBAsyncClient) -> Redemption:
        kind = EntryKind.DONATE if reward.kind == RewardKind.DONATION else EntryKind.REDEEM
        posted = await ledger.debit(
            conn,
            member_id,
            reward.points_cost,
            kind=kind,
            key=redeem_key,
            source=_reward_source(reward),
        )
        if reward.per_member_limit is not None:
            model = Donation if reward.kind == RewardKind.DONATION else Coupon
            taken = await model.filter(member_id=member_id, reward_id=reward.id).using_db(conn)
            live = [t for t in taken if getattr(t, "status", None) != CouponStatus.CANCELLED]
            if len(live) >= reward.per_member_limit:
                raise InvalidInput(
                    "the limit for this reward is reached",
                    field="rewardId",
                    code=ErrorCode.LIMIT_REACHED,
                )
        if reward.stock is not None:
            decremented = await db.execute(
                conn, "UPDATE rewards SET stock = stock - 1 WHERE id = $1 AND stock > 0", reward.id
            )
            if decremented != 1:
                raise InvalidInput(
                    "this reward is out of stock", field="rewardId", code=ErrorCode.OUT_OF_STOCK
                )
        if reward.kind == RewardKind.DONATION:
            donation = await Donation.create(
                reward_id=reward.id,
                member_id=member_id,
                cause=reward.cause,
                points=reward.points_cost,
                value_cents=reward.value_cents or 0,
                redeem_key=redeem_key,
                using_db=conn,
            )
            await _redeemed_event(conn, member_id, reward, None, donation)
            return Redemption(reward, None, donation, posted.entry.id, replayed=False)
        coupon = await Coupon.create(
            code=new_code(),
            reward_id=reward.id,
            member_id=member_id,
            points=reward.points_cost,
            redeem_key=redeem_key,
            expires_at=now + timedelta(days=reward.coupon_days),
            using_db=conn,
        )
        await _redeemed_event(conn, member_id, reward, coupon, None)
        return Redemption(reward, coupon, None, posted.entry.id, replayed=False)

    return await db.atomic_idempotent(write, partial(_redemption_by_key, redeem_key, reward))


async def _redeemed_event(
    conn: BaseDBAsyncClient,
    member_id: int,
    reward: Reward,
    coupon: Coupon | None,
    donation: Donation | None,
) -> None:
    payload = {
        "rewardId": reward.id,
        "rewardName": reward.name,
        "rewardKind": reward.kind,
        "points": reward.points_cost,
        "valueCents": reward.value_cents,
        "couponCode": coupon.code if coupon else None,
        "couponExpiresAt": coupon.expires_at if coupon else None,
        "cause": donation.cause if donation else None,
    }
    await outbox.record(conn, outbox.EventKind.REWARD_REDEEMED, member_id, payload)


async def _redemption_by_key(key: str, reward: Reward) -> Redemption | None:
    """The redemption already made under this key; a key of another reward is a conflict."""
    entry = await ledger.existing(key)
    if entry is None:
        return None
    if entry.source != _reward_source(reward):
        raise Conflict(
            "this idempotency key was used to redeem another reward",
            field="idempotencyKey",
            code=ErrorCode.IDEMPOTENCY_CONFLICT,
        )
    coupon = await Coupon.get_or_none(redeem_key=key)
    donation = await Donation.get_or_none(redeem_key=key)
    return Redemption(reward, coupon, donation, entry.id, replayed=True)
