"""tortoise-orm models: persistence only, no business rules beyond field constraints."""

from models.catalog import Product
from models.ledger import EntryKind, LedgerEntry, Lot
from models.members import Member
from models.orders import Order, OrderLine, Refund

__all__ = [
    "EntryKind",
    "LedgerEntry",
    "Lot",
    "Member",
    "Order",
    "OrderLine",
    "Product",
    "Refund",
]
