"""The rewards catalogue, redemption into coupons, checkout validation and burn, donations.

Redeeming debits the points (oldest lots first) and issues the coupon in one transaction; the
member's row lock (the conditional debit) serialises one member's redemptions, and stock is a
conditional ``UPDATE rewards SET stock = stock - 1 WHERE stock > 0``. Using a coupon is one
conditional update from ``issued`` to ``used``, so a code burns once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from loyalty import db, earning, ledger, outbox
from loyalty.errors import Conflict, ErrorCode, InvalidInput, LoyaltyError, NotFound
from loyalty.ledger import keys
from loyalty.limits import MAX_POINTS
from loyalty.money import to_cents
from loyalty.rules import ProgramConfig, member_tier, program_config
from loyalty.settings import Settings
from models import (
    Coupon,
    CouponStatus,
    Donation,
    EntryKind,
    Member,
    Reward,
    RewardKind,
    Tier,
)

# 31 symbols without 0/O/1/I/L; 16 of them are 79 bits, printed in groups of four.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 16
_CODE_CLEAN = re.compile(r"[\s-]")


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalize_code(code: str) -> str:
    raw = _CODE_CLEAN.sub("", code or "").upper()
    if len(raw) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in raw):
        return ""
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


@dataclass
class RewardInput:
    """What an admin sends to create or update a reward (None: unchanged on update)."""

    name: str | None = None
    kind: RewardKind | None = None
    points_cost: int | None = None
    description: str | None = None
    value: Decimal | None = None
    percent: int | None = None
    sku: str | None = None
    cause: str | None = None
    category: str | None = None
    min_order: Decimal | None = None
    stock: int | None = None
    per_member_limit: int | None = None
    coupon_days: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool | None = None
    min_tier: str | None = None


_NEEDS = {
    RewardKind.FIXED_DISCOUNT: "value",
    RewardKind.GIFT_CARD: "value",
    RewardKind.DONATION: "value",
    RewardKind.PERCENT_DISCOUNT: "percent",
    RewardKind.FREE_PRODUCT: "sku",
}


def _apply(reward: Reward, data: RewardInput) -> None:
    """Copy given fields onto the reward and check the whole reward."""
    if data.name is not None:
        reward.name = data.name.strip()
    if data.kind is not None:
        reward.kind = data.kind
    for name in ("points_cost", "description", "percent", "sku", "cause", "category", "stock"):
        value = getattr(data, name)
        if value is not None:
            setattr(reward, name, value)
    if data.per_member_limit is not None:
        reward.per_member_limit = data.per_member_limit
    if data.coupon_days is not None:
        reward.coupon_days = data.coupon_days
    if data.value is not None:
        reward.value_cents = to_cents(data.value, field="value", allow_zero=False)
    if data.min_order is not None:
        reward.min_order_cents = to_cents(data.min_order, field="minOrder")
    if data.starts_at is not None:
        reward.starts_at = data.starts_at
    if data.ends_at is not None:
        reward.ends_at = data.ends_at
    if data.active is not None:
        reward.active = data.active
    _check(reward)


def _check(reward: Reward) -> None:
    if not reward.name or len(reward.name) > 255:
        raise InvalidInput("name must be 1 to 255 characters", field="name")
    if reward.points_cost is None or not 0 < reward.points_cost <= MAX_POINTS:
        raise InvalidInput(f"pointsCost must be between 1 and {MAX_POINTS}", field="pointsCost")
    needed = _NEEDS.get(reward.kind)
    if needed == "value" and not reward.value_cents:
        raise InvalidInput(f"a {reward.kind.name} reward needs a value", field="value")
    if needed == "percent" and not (reward.percent and 0 < reward.percent <= 100):
        raise InvalidInput("percent must be between 1 and 100", field="percent")
    if needed == "sku" and not (reward.sku and reward.sku.strip()):
        raise InvalidInput("a FREE_PRODUCT reward needs a sku", field="sku")
    if reward.kind == RewardKind.DONATION and not (reward.cause and reward.cause.strip()):
        raise InvalidInput("a DONATION reward needs a cause", field="cause")
    for name, limit in (("sku", 64), ("cause", 255), ("category", 128)):
        value = getattr(reward, name)
        if value is not None and len(value) > limit:
            raise InvalidInput(f"{name} is longer than {limit} characters", field=name)
    if reward.stock is not None and reward.stock < 0:
        raise InvalidInput("stock must be zero or more", field="stock")
    if reward.per_member_limit is not None and reward.per_member_limit < 1:
        raise InvalidInput("perMemberLimit must be at least 1", field="perMemberLimit")
    if not 1 <= reward.coupon_days <= 3650:
        raise InvalidInput("couponDays must be between 1 and 3650", field="couponDays")
    if reward.starts_at and reward.ends_at and reward.ends_at <= reward.starts_at:
        raise InvalidInput("endsAt must be after startsAt", field="endsAt")


async def _set_min_tier(reward: Reward, data: RewardInput) -> None:
    if data.min_tier is None:
        return
    if data.min_tier == "":
        reward.min_tier_id = None
        return
    tier = await Tier.get_or_none(name=data.min_tier, active=True)
    if tier is None:
        raise InvalidInput(f"unknown tier {data.min_tier!r}", field="minTier")
    reward.min_tier_id = tier.id


async def create_reward(data: RewardInput) -> Reward:
    if data.kind is None:
        raise InvalidInput("kind is required", field="kind")
    reward = Reward(name=data.name or "", kind=data.kind, points_cost=data.points_cost or 0)
    _apply(reward, data)
    await _set_min_tier(reward, data)
    await reward.save()
    return reward


async def update_reward(reward_id: int, data: RewardInput) -> Reward:
    reward = await get_reward(reward_id)
    _apply(reward, data)
    await _set_min_tier(reward, data)
    await reward.save()
    return reward


async def get_reward(reward_id: int) -> Reward:
    reward = await Reward.get_or_none(id=reward_id)
    if reward is None:
        raise NotFound("reward not found", field="rewardId", code=ErrorCode.REWARD_NOT_FOUND)
    return reward


async def catalogue(now: datetime | None = None) -> list[Reward]:
    """Active rewards inside their window with stock left, cheapest first."""
    now = now or datetime.now(UTC)
    rewards = await Reward.filter(active=True).order_by("points_cost", "id")
    return [r for r in rewards if unavailable(r, now) is None]


def unavailable(reward: Reward, now: datetime) -> LoyaltyError | None:
    """Why the reward cannot be redeemed now, or None."""
    if not reward.active:
        return InvalidInput(
            "this reward is not active", field="rewardId", code=ErrorCode.REWARD_INACTIVE
        )
    if reward.starts_at and now < reward.starts_at:
        return InvalidInput(
            "this reward is not available yet", field="rewardId", code=ErrorCode.REWARD_NOT_STARTED
        )
    if reward.ends_at and now >= reward.ends_at:
        return InvalidInput(
            "this reward is no longer available", field="rewardId", code=ErrorCode.REWARD_ENDED
        )
    if reward.stock is not None and reward.stock <= 0:
        return InvalidInput(
            "this reward is out of stock", field="rewardId", code=ErrorCode.OUT_OF_STOCK
        )
    return None


def tier_allows(config: ProgramConfig, held: Tier | None, reward: Reward) -> bool:
    """Whether a member holding tier ``held`` may redeem this reward: a tier-only reward needs
    that tier or above (and a reward whose minimum tier is no longer active, nobody)."""
    if reward.min_tier_id is None:
        return True
    required = config.tier(reward.min_tier_id)
    return required is not None and held is not None and held.threshold >= required.threshold


async def _check_tier(member_id: int, reward: Reward) -> None:
    if reward.min_tier_id is None:
        return
    config = await program_config()
    if not tier_allows(config, (await member_tier(member_id)).tier, reward):
        required = config.tier(reward.min_tier_id)
        raise InvalidInput(
            f"this reward is for {required.name if required else 'tier'} members and above",
            field="rewardId",
            code=ErrorCode.TIER_REQUIRED,
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
    await _check_tier(member_id, reward)

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

    try:
        return await db.atomic(write)
    except IntegrityError:
        replay = await _redemption_by_key(redeem_key, reward)
        if replay is None:
            raise
        return replay


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


@dataclass(frozen=True)
class CartLine:
    sku: str
    quantity: int
    unit_price: Decimal
    category: str | None = None


@dataclass
class CouponCheck:
    """Whether a code applies to a cart, what it is worth, or why not."""

    valid: bool
    code: ErrorCode | None = None
    message: str = ""
    discount_cents: int = 0
    coupon: Coupon | None = None
    reward: Reward | None = None
    free_shipping: bool = False
    details: list[str] = field(default_factory=list)


async def validate(
    code: str,
    lines: list[CartLine],
    shipping: Decimal = Decimal(0),
    now: datetime | None = None,
) -> CouponCheck:
    """Check a code against a cart; nothing is written."""
    now = now or datetime.now(UTC)
    coupon = await _coupon(code)
    if coupon is None:
        return CouponCheck(False, ErrorCode.COUPON_NOT_FOUND, "no such coupon code")
    reward = await Reward.get(id=coupon.reward_id)
    status_problem = _status_problem(coupon, now)
    if status_problem is not None:
        return CouponCheck(
            False, status_problem[0], status_problem[1], coupon=coupon, reward=reward
        )
    try:
        cart = _cart(lines)
        shipping_cents = earning.order_amount(shipping, field="shipping")
    except LoyaltyError as problem:
        return CouponCheck(False, problem.code, problem.message, coupon=coupon, reward=reward)
    totals = [(line, line.total_cents) for line in cart]
    cart_cents = sum(t for _, t in totals)
    if cart_cents < reward.min_order_cents:
        return CouponCheck(
            False,
            ErrorCode.MINIMUM_NOT_MET,
            f"the cart must reach {reward.min_order_cents / 100:.2f}",
            coupon=coupon,
            reward=reward,
        )
    eligible = sum(
        t for line, t in totals if not reward.category or line.category == reward.category
    )
    discount, free_shipping = 0, False
    if reward.kind == RewardKind.FIXED_DISCOUNT or reward.kind == RewardKind.GIFT_CARD:
        discount = min(reward.value_cents or 0, eligible)
    elif reward.kind == RewardKind.PERCENT_DISCOUNT:
        discount = eligible * (reward.percent or 0) // 100
    elif reward.kind == RewardKind.FREE_PRODUCT:
        prices = [line.unit_price_cents for line in cart if line.sku == reward.sku]
        discount = max(prices, default=0)
    elif reward.kind == RewardKind.FREE_SHIPPING:
        discount, free_shipping = shipping_cents, True
    if discount <= 0 and not free_shipping:
        why = {
            RewardKind.FREE_PRODUCT: f"the cart does not contain {reward.sku}",
        }.get(reward.kind, "nothing in the cart qualifies for this coupon")
        return CouponCheck(False, ErrorCode.NOT_APPLICABLE, why, coupon=coupon, reward=reward)
    return CouponCheck(True, None, "", discount, coupon, reward, free_shipping)


def _cart(lines: list[CartLine]) -> list[earning.Line]:
    """A cart's lines checked by the same rules as an order's (an empty cart is allowed)."""
    if not lines:
        return []
    return earning.validate_lines(
        [
            earning.LineInput(line.sku, line.quantity, line.unit_price, category=line.category)
            for line in lines
        ]
    )


async def _coupon(code: str) -> Coupon | None:
    normalized = normalize_code(code)
    if not normalized:
        return None
    return await Coupon.get_or_none(code=normalized)


def _status_problem(coupon: Coupon, now: datetime) -> tuple[ErrorCode, str] | None:
    if coupon.status == CouponStatus.USED:
        return ErrorCode.COUPON_USED, "this coupon was already used"
    if coupon.status == CouponStatus.CANCELLED:
        return ErrorCode.COUPON_CANCELLED, "this coupon was cancelled"
    if coupon.status == CouponStatus.EXPIRED or coupon.expires_at <= now:
        return ErrorCode.COUPON_EXPIRED, "this coupon has expired"
    return None


async def use(
    code: str, order_external_id: str, now: datetime | None = None
) -> tuple[Coupon, bool]:
    """Burn a coupon for one order; the same order again is a no-op (True when replayed)."""
    now = now or datetime.now(UTC)
    if not order_external_id or len(order_external_id) > 255:
        raise InvalidInput("orderExternalId must be 1 to 255 characters", field="orderExternalId")
    coupon = await _coupon(code)
    if coupon is None:
        raise NotFound("no such coupon code", field="code", code=ErrorCode.COUPON_NOT_FOUND)

    async def burn(conn: BaseDBAsyncClient) -> int:
        changed = (
            await Coupon.filter(id=coupon.id, status=CouponStatus.ISSUED, expires_at__gt=now)
            .using_db(conn)
            .update(status=CouponStatus.USED, order_external_id=order_external_id, used_at=now)
        )
        if changed == 1:
            payload = {
                "couponCode": coupon.code,
                "rewardId": coupon.reward_id,
                "orderExternalId": order_external_id,
                "usedAt": now,
            }
            await outbox.record(
                conn,
                outbox.EventKind.COUPON_USED,
                coupon.member_id,
                payload,
                key=f"coupon-used:{coupon.id}",
                now=now,
            )
        return changed

    changed = await db.atomic(burn)
    await coupon.refresh_from_db()
    if changed == 1:
        return coupon, False
    if coupon.status == CouponStatus.USED and coupon.order_external_id == order_external_id:
        return coupon, True
    problem = _status_problem(coupon, now) or (ErrorCode.COUPON_EXPIRED, "this coupon has expired")
    raise InvalidInput(problem[1], field="code", code=problem[0])


async def cancel(
    code: str, member_id: int | None, settings: Settings, now: datetime | None = None
) -> Coupon:
    """Cancel an unused coupon and give its points back as they were spent (a member may
    cancel only its own): an open refund shortfall is settled first, and the points keep the
    expiry dates of the lots the redemption consumed."""
    coupon = await _coupon(code)
    if coupon is None or (member_id is not None and coupon.member_id != member_id):
        raise NotFound("no such coupon code", field="code", code=ErrorCode.COUPON_NOT_FOUND)
    now = now or datetime.now(UTC)

    async def write(conn: BaseDBAsyncClient) -> Coupon:
        changed = (
            await Coupon.filter(id=coupon.id, status=CouponStatus.ISSUED, expires_at__gt=now)
            .using_db(conn)
            .update(status=CouponStatus.CANCELLED)
        )
        if changed != 1:
            await coupon.refresh_from_db(using_db=conn)
            problem = _status_problem(coupon, now) or (ErrorCode.COUPON_USED, "not cancellable")
            raise InvalidInput(problem[1], field="code", code=problem[0])
        await ledger.give_back(
            conn,
            coupon.redeem_key,
            key=keys.coupon_cancel(coupon.id),
            source=f"coupon:{coupon.code}",
            now=now,
            settings=settings,
        )
        await db.execute(
            conn,
            "UPDATE rewards SET stock = stock + 1 WHERE id = $1 AND stock IS NOT NULL",
            coupon.reward_id,
        )
        await coupon.refresh_from_db(using_db=conn)
        return coupon

    return await db.atomic(write)


async def expire_coupons(now: datetime) -> int:
    """Mark issued coupons past their date as expired; their points are not returned."""
    return await Coupon.filter(status=CouponStatus.ISSUED, expires_at__lte=now).update(
        status=CouponStatus.EXPIRED
    )


async def member_coupons(
    member_id: int, first: int, before_id: int | None
) -> tuple[list[Coupon], bool]:
    query = Coupon.filter(member_id=member_id).order_by("-id")
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    rows = await query.limit(first + 1)
    return rows[:first], len(rows) > first


@dataclass(frozen=True)
class CauseTotal:
    cause: str
    donations: int
    points: int
    value_cents: int


async def donation_totals() -> list[CauseTotal]:
    """Donations per cause, computed in the database."""
    rows = await db.fetch(
        db.connection(),
        "SELECT cause, COUNT(*) AS n, SUM(points) AS points, SUM(value_cents) AS value "
        "FROM donations GROUP BY cause ORDER BY cause",
    )
    return [CauseTotal(r["cause"], int(r["n"]), int(r["points"]), int(r["value"])) for r in rows]


async def affordability(member_id: int | None, rewards: list[Reward]) -> dict[int, int]:
    """Points still missing per reward for this member (0: affordable now)."""
    if member_id is None:
        return {}
    member = await Member.get_or_none(id=member_id)
    balance = member.balance if member else 0
    return {r.id: max(0, r.points_cost - balance) for r in rewards}
