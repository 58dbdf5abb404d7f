"""Coupons at checkout and after: validating a code against a cart (by the order rules), burning
it once (one conditional update from ``issued`` to ``used``), cancelling it (its points come
back as they were spent) and expiring it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db, ledger
from loyalty.codes import normalize_code
from loyalty.errors import ErrorCode, InvalidInput, LoyaltyError, NotFound
from loyalty.events import outbox
from loyalty.ledger import keys
from loyalty.paging import keyset_page
from loyalty.programme import earning
from loyalty.settings import Settings
from models import (
    Coupon,
    CouponStatus,
    Reward,
    RewardKind,
)


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
    """A page of the member's coupons, newest first, older than the cursor; more? Their rewards
    are read along in one query (not one per coupon)."""
    return await keyset_page(
        Coupon.filter(member_id=member_id).prefetch_related("reward"),
        first,
        before_id,
        newest_first=True,
    )
