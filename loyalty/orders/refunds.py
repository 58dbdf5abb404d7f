"""Refunds: the proportional points are reversed (never below zero: what cannot be taken back
is recorded as a shortfall the member owes), idempotent on the refund id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from loyalty import db, ledger
from loyalty.errors import Conflict, ErrorCode, InvalidInput, NotFound
from loyalty.ledger import keys
from loyalty.members import referrals
from loyalty.money import from_cents, to_cents
from loyalty.orders.pending import take
from loyalty.settings import Settings
from models import EntryKind, Member, Order, OrderLine, Refund


@dataclass(frozen=True)
class RefundLineInput:
    sku: str
    quantity: int


@dataclass(frozen=True)
class RefundInput:
    order_external_id: str
    external_id: str | None = None
    amount: Decimal | int | str | None = None
    lines: list[RefundLineInput] = field(default_factory=list)


@dataclass(frozen=True)
class RefundResult:
    refund: Refund
    order: Order
    points_reversed: int
    shortfall: int
    replayed: bool


async def refund_order(settings: Settings, data: RefundInput) -> RefundResult:
    """Refund part or all of an order and reverse the proportional points (never below zero)."""
    order = await Order.get_or_none(external_id=data.order_external_id)
    if order is None:
        raise NotFound("order not found", field="orderExternalId", code=ErrorCode.ORDER_NOT_FOUND)
    amount = await _refund_amount(order, data)
    key = data.external_id or f"auto:{order.external_id}:{amount}"
    if len(key) > 200:
        raise InvalidInput("externalId is longer than 200 characters", field="externalId")
    found = await Refund.get_or_none(external_id=key)
    if found is not None:
        return await _refund_replay(found, order)

    async def write(conn: BaseDBAsyncClient) -> RefundResult:
        rows = await db.fetch(
            conn,
            "UPDATE orders SET refunded_cents = refunded_cents + $1 "
            "WHERE id = $2 AND refunded_cents + $1 <= eligible_cents "
            "RETURNING refunded_cents, points_reversed, points_awarded, eligible_cents",
            amount,
            order.id,
        )
        if not rows:
            raise InvalidInput(
                "the refund exceeds what is left to refund on this order",
                field="amount",
                code=ErrorCode.REFUND_EXCEEDS_ORDER,
            )
        row = rows[0]
        target = row["points_awarded"] * row["refunded_cents"] // row["eligible_cents"]
        points = target - row["points_reversed"]
        await db.execute(
            conn, "UPDATE orders SET points_reversed = $1 WHERE id = $2", target, order.id
        )
        shortfall = 0
        # Inside the return window the pending credit shrinks, not the balance.
        from_pending = points > 0 and await take(conn, order, points)
        if points > 0 and not from_pending:
            earn = await ledger.existing(keys.order(order.external_id), conn)
            posted = await ledger.debit(
                conn,
                order.member_id,
                points,
                kind=EntryKind.REVERSAL,
                key=keys.refund(key),
                source=f"refund:{order.external_id}",
                partial=True,
                prefer_lot_entry_id=earn.id if earn else None,
            )
            shortfall = posted.entry.shortfall
        await (
            Member.filter(id=order.member_id)
            .using_db(conn)
            .update(lifetime_spend_cents=F("lifetime_spend_cents") - amount)
        )
        refund = await Refund.create(
            external_id=key,
            order_id=order.id,
            amount_cents=amount,
            points_reversed=points - shortfall,
            shortfall=shortfall,
            using_db=conn,
        )
        await order.refresh_from_db(using_db=conn)
        await referrals.on_refund(conn, settings, order, datetime.now(UTC))
        return RefundResult(refund, order, points - shortfall, shortfall, replayed=False)

    async def replay() -> RefundResult | None:
        found = await Refund.get_or_none(external_id=key)
        return None if found is None else await _refund_replay(found, order)

    return await db.atomic_idempotent(write, replay)


async def refund_at_most(
    settings: Settings, order: Order, external_id: str, cents: int | None
) -> RefundResult | None:
    """Refund ``cents`` of an order (None: all that is left), at most what is left of it; None
    when nothing is left.

    A shop platform's refunded money includes shipping and tax, which never earned: a refund
    bigger than what is left on the order reverses the rest.
    """
    found = await Refund.get_or_none(external_id=external_id)
    if found is not None:
        return await _refund_replay(found, order)
    left = order.eligible_cents - order.refunded_cents
    if left <= 0:
        return None
    amount = from_cents(left if cents is None else min(cents, left))
    return await refund_order(settings, RefundInput(order.external_id, external_id, amount))


async def _refund_replay(refund: Refund, order: Order) -> RefundResult:
    if refund.order_id != order.id:
        raise Conflict("this refund id belongs to another order", field="externalId")
    await order.refresh_from_db()
    return RefundResult(refund, order, refund.points_reversed, refund.shortfall, replayed=True)


async def _refund_amount(order: Order, data: RefundInput) -> int:
    """Cents of eligible spend being refunded, from an amount or from lines."""
    if (data.amount is None) == (not data.lines):
        raise InvalidInput("give either amount or lines", field="amount")
    if data.amount is not None:
        return to_cents(data.amount, field="amount", allow_zero=False)
    prices: dict[str, tuple[int, int]] = {}
    for sku, quantity, price in await OrderLine.filter(order_id=order.id).values_list(
        "product__sku", "quantity", "unit_price_cents"
    ):
        have_qty, _ = prices.get(sku, (0, price))
        prices[sku] = (have_qty + quantity, price)
    gross = 0
    for i, line in enumerate(data.lines):
        if line.sku not in prices:
            raise InvalidInput("this sku is not on the order", field=f"lines.{i}.sku")
        bought, price = prices[line.sku]
        if not 0 < line.quantity <= bought:
            raise InvalidInput(
                f"quantity must be between 1 and {bought}",
                field=f"lines.{i}.quantity",
                code=ErrorCode.INVALID_QUANTITY,
            )
        gross += line.quantity * price
    if order.subtotal_cents == 0:
        return 0
    # Lines were paid net of the order discount: refund their share of the eligible amount.
    return gross * order.eligible_cents // order.subtotal_cents
