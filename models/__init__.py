"""tortoise-orm models: persistence only, no business rules beyond field constraints."""

from models.catalog import NonOfferableCategory, Product
from models.events import DeliveryStatus, EventDelivery, MarketingPreference, OutboxEvent
from models.experiments import ArmSource, Experiment, ExperimentArm
from models.guests import GuestOrder, GuestRefund
from models.inbox import InboxDelivery, InboxStatus
from models.ledger import EntryKind, LedgerEntry, Lot, LotUse, PendingCredit, PendingStatus
from models.members import Member
from models.offers import MemberOffer, ModelVersion, OfferEvent, OfferEventKind
from models.orders import EarlyCancellation, Order, OrderLine, Refund
from models.privacy import AuditEntry, Erasure, TokenRevocation
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
from models.reports import MemberOrderTotals, ReportRollup, RollupMark
from models.rewards import Coupon, CouponStatus, Donation, Reward, RewardKind
from models.sync import SyncCursor

__all__ = [
    "Action",
    "ActionRule",
    "ArmSource",
    "AuditEntry",
    "Campaign",
    "Coupon",
    "CouponStatus",
    "DeliveryStatus",
    "Donation",
    "EarlyCancellation",
    "EarningCap",
    "EarningRule",
    "EntryKind",
    "Erasure",
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
    "MemberOrderTotals",
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
    "ReportRollup",
    "Reward",
    "RewardKind",
    "RollupMark",
    "Subscription",
    "SyncCursor",
    "Tier",
    "TierBasis",
    "TierWindow",
    "TokenRevocation",
]
