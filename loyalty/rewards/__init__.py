"""Rewards: the catalogue, redemption into coupons or donations, coupons at checkout."""

from loyalty.codes import CODE_ALPHABET, CODE_LENGTH, new_code, normalize_code
from loyalty.rewards.catalogue import (
    RewardInput,
    affordability,
    catalogue,
    check_tier,
    create_reward,
    every_reward,
    get_reward,
    tier_allows,
    unavailable,
    update_reward,
)
from loyalty.rewards.coupons import (
    CartLine,
    CouponCheck,
    cancel,
    expire_coupons,
    member_coupons,
    use,
    validate,
)
from loyalty.rewards.donations import CauseTotal, donation_totals
from loyalty.rewards.redemption import Redemption, redeem

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "CartLine",
    "CauseTotal",
    "CouponCheck",
    "Redemption",
    "RewardInput",
    "affordability",
    "cancel",
    "catalogue",
    "check_tier",
    "create_reward",
    "donation_totals",
    "every_reward",
    "expire_coupons",
    "get_reward",
    "member_coupons",
    "new_code",
    "normalize_code",
    "redeem",
    "tier_allows",
    "unavailable",
    "update_reward",
    "use",
    "validate",
]
