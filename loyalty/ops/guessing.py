"""Coupon guessing is slowed down per shopper, so one shopper cannot lock out the others.

A checkout call (``validate``, ``use``) counts as a failure when a well-formed code does not
exist; a malformed code (wrong length or alphabet, see ``rewards.normalize_code``) is answered
without touching the database and is not counted. Past ``GUESSES.limit`` failures in its window
the shopper's calls answer ``RATE_LIMITED``, whatever the code. The shopper is the member when a
member calls, else the id the storefront passes for its shopper or session, else the client
address; the calling key is part of the name, so the admin and the storefront count apart.
"""

from __future__ import annotations

from decimal import Decimal

from loyalty import rewards
from loyalty.errors import ErrorCode, InvalidInput, LoyaltyError, NotFound
from loyalty.ops.ratelimit import FailureLimiter
from models import Coupon

# Unknown well-formed codes per shopper per minute (in-process: see loyalty.ratelimit).
GUESSES = FailureLimiter(limit=300, window=60.0)
MAX_SHOPPER_ID = 128
_BLOCKED = "too many invalid codes; try again in a minute"


def shopper(caller: str, member_id: int | None, shopper_id: str | None, address: str) -> str:
    """The name failures are counted under for this caller's shopper."""
    if shopper_id is not None and not 0 < len(shopper_id) <= MAX_SHOPPER_ID:
        raise InvalidInput(f"shopperId must be 1 to {MAX_SHOPPER_ID} characters", field="shopperId")
    if member_id is not None:
        return f"{caller}/member:{member_id}"
    if shopper_id is not None:
        return f"{caller}/shopper:{shopper_id}"
    return f"{caller}/address:{address}"


def _count(key: str, code: str) -> None:
    if rewards.normalize_code(code):
        GUESSES.fail(key)


async def validate(
    key: str,
    code: str,
    lines: list[rewards.CartLine],
    shipping: Decimal = Decimal(0),
) -> rewards.CouponCheck:
    """``rewards.validate`` for the shopper ``key``, refused while it is over the limit."""
    if GUESSES.blocked(key):
        return rewards.CouponCheck(False, ErrorCode.RATE_LIMITED, _BLOCKED)
    check = await rewards.validate(code, lines, shipping)
    if check.code == ErrorCode.COUPON_NOT_FOUND:
        _count(key, code)
    return check


async def use(key: str, code: str, order_external_id: str) -> tuple[Coupon, bool]:
    """``rewards.use`` for the shopper ``key``, refused while it is over the limit."""
    if GUESSES.blocked(key):
        raise LoyaltyError(_BLOCKED, field="code", code=ErrorCode.RATE_LIMITED)
    try:
        return await rewards.use(code, order_external_id)
    except NotFound as exc:
        if exc.code == ErrorCode.COUPON_NOT_FOUND:
            _count(key, code)
        raise
