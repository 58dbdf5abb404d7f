"""tortoise-orm models: persistence only, no business rules beyond field constraints."""

from models.catalog import Product
from models.ledger import EntryKind, LedgerEntry, Lot
from models.members import Member
from models.offers import MemberOffer, ModelVersion
from models.orders import Order, OrderLine, Refund
from models.rewards import Coupon, CouponStatus, Donation, Reward, RewardKind

__all__ = [
    "Coupon",
    "CouponStatus",
    "Donation",
    "EntryKind",
    "LedgerEntry",
    "Lot",
    "Member",
    "MemberOffer",
    "ModelVersion",
    "Order",
    "OrderLine",
    "Product",
    "Refund",
    "Reward",
    "RewardKind",
]
