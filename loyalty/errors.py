"""Domain errors, each with a stable code that clients can switch on.

    LoyaltyError
    ├── NotFound             the thing does not exist (or the caller may not see it)
    ├── InvalidInput         the request is malformed or breaks a rule of the programme
    ├── Conflict             the request collides with existing state (duplicate, reuse)
    └── InsufficientPoints   the balance does not cover a debit

The API layer turns these into ``userErrors { field message code }`` in one place.
"""

from __future__ import annotations

from enum import Enum


class ErrorCode(Enum):
    """Every code a user error can carry."""

    NOT_FOUND = "NOT_FOUND"
    MEMBER_NOT_FOUND = "MEMBER_NOT_FOUND"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    INVALID = "INVALID"
    INVALID_ID = "INVALID_ID"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    EMPTY_ORDER = "EMPTY_ORDER"
    ALREADY_ENROLLED = "ALREADY_ENROLLED"
    MEMBER_CLOSED = "MEMBER_CLOSED"
    MEMBER_ERASED = "MEMBER_ERASED"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    REFUND_EXCEEDS_ORDER = "REFUND_EXCEEDS_ORDER"
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    REWARD_NOT_FOUND = "REWARD_NOT_FOUND"
    REWARD_INACTIVE = "REWARD_INACTIVE"
    REWARD_NOT_STARTED = "REWARD_NOT_STARTED"
    REWARD_ENDED = "REWARD_ENDED"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    LIMIT_REACHED = "LIMIT_REACHED"
    COUPON_NOT_FOUND = "COUPON_NOT_FOUND"
    COUPON_USED = "COUPON_USED"
    COUPON_EXPIRED = "COUPON_EXPIRED"
    COUPON_CANCELLED = "COUPON_CANCELLED"
    MINIMUM_NOT_MET = "MINIMUM_NOT_MET"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    REFERRAL_CODE_UNKNOWN = "REFERRAL_CODE_UNKNOWN"
    SELF_REFERRAL = "SELF_REFERRAL"
    TIER_REQUIRED = "TIER_REQUIRED"
    RATE_LIMITED = "RATE_LIMITED"
    POINTS_LIMIT = "POINTS_LIMIT"
    INVALID_DATE = "INVALID_DATE"


class LoyaltyError(Exception):
    """Base of every error a caller can fix or should know about."""

    default_code = ErrorCode.INVALID

    def __init__(
        self, message: str, *, field: str | None = None, code: ErrorCode | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.default_code


class NotFound(LoyaltyError):
    default_code = ErrorCode.NOT_FOUND


class InvalidInput(LoyaltyError):
    default_code = ErrorCode.INVALID


class Conflict(LoyaltyError):
    default_code = ErrorCode.IDEMPOTENCY_CONFLICT


class InsufficientPoints(LoyaltyError):
    default_code = ErrorCode.INSUFFICIENT_POINTS
