"""tortoise-orm models: persistence only, no business rules beyond field constraints."""

from models.catalog import NonOfferableCategory, Product
from models.events import DeliveryStatus, EventDelivery, MarketingPreference, OutboxEvent
from models.experiments import ArmSource, Experiment, ExperimentArm
from models.guests import GuestOrder, GuestRefund
from models.inbox import InboxDelivery, InboxStatus
from models.ledger import EntryKind, LedgerEntry, Lot, LotUse, PendingCredit, PendingStatus
from models.members import Member
from models.offers import MemberOffer, ModelVersion, OfferEvent, OfferEventKind
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
    ProgramVersion,
    Subscription,
    Tier,
    TierBasis,
    TierWindow,
)
from models.rewards import Coupon, CouponStatus, Donation, Reward, RewardKind
from models.sync import SyncCursor

__all__ = [
    "Action",
    "ActionRule",
    "ArmSource",
    "Campaign",
    "Coupon",
    "CouponStatus",
    "DeliveryStatus",
    "Donation",
    "EarningCap",
    "EarningRule",
    "EntryKind",
    "EventDelivery",
    "Experiment",
    "ExperimentArm",
    "GuestOrder",
    "GuestRefund",
    "InboxDelivery",
    "InboxStatus",
    "LedgerEntry",
    "Lot",
    "LotUse",
    "MarketingPreference",
    "Member",
    "MemberOffer",
    "MemberTier",
    "ModelVersion",
    "NonOfferableCategory",
    "OfferEvent",
    "OfferEventKind",
    "Order",
    "OrderLine",
    "OutboxEvent",
    "PendingCredit",
    "PendingStatus",
    "Period",
    "Plan",
    "Product",
    "ProgramVersion",
    "Refund",
    "Reward",
    "RewardKind",
    "Subscription",
    "SyncCursor",
    "Tier",
    "TierBasis",
    "TierWindow",
]
