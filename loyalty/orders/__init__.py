"""Orders: recording them, refunding them, and the points they hold back for the return window."""

from loyalty.orders.record import (
    LineInput,
    OrderInput,
    OrderResult,
    ProductInput,
    describe_products,
    ensure_products,
    preview,
    record_order,
)
from loyalty.orders.refunds import (
    RefundInput,
    RefundLineInput,
    RefundResult,
    refund_at_most,
    refund_order,
)

__all__ = [
    "LineInput",
    "OrderInput",
    "OrderResult",
    "ProductInput",
    "RefundInput",
    "RefundLineInput",
    "RefundResult",
    "describe_products",
    "ensure_products",
    "preview",
    "record_order",
    "refund_at_most",
    "refund_order",
]
