"""tortoise-orm models: persistence only, no business rules beyond field constraints."""

from models.catalog import Product
from models.ledger import EntryKind, LedgerEntry, Lot
from models.members import Member
from models.offers import MemberOffer, ModelVersion
from models.orders import Order, OrderLine, Refund
from models.program import (
    Action,
    ActionRule,
    Campaign,
    EarningCap,
    EarningRule,
    MemberTier,
    Period,
    Plan,
    Subscription,
    Tier,
    TierBasis,
    TierWindow,
)
from models.rewards import Coupon, CouponStatus, Donation, Reward, RewardKind

__all__ = [
    "Action",
    "ActionRule",
    "Campaign",
    "Coupon",
    "CouponStatus",
    "Donation",
    "EarningCap",
    "EarningRule",
    "EntryKind",
    "LedgerEntry",
    "Lot",
    "Member",
    "MemberOffer",
    "MemberTier",
    "ModelVersion",
    "Order",
    "OrderLine",
    "Period",
    "Plan",
    "Product",
    "Refund",
    "Reward",
    "RewardKind",
    "Subscription",
    "Tier",
    "TierBasis",
    "TierWindow",
]
