"""Carrying out a platform's command through the programme's own services, idempotently: the
order id, the refund id and the member's external id make a second application change nothing.
Domain errors propagate; the inbox parks the delivery with them."""

from __future__ import annotations

from dataclasses import replace

from loyalty import members, orders
from loyalty.errors import ErrorCode, InvalidInput, NotFound
from loyalty.money import from_cents, to_cents
from loyalty.platforms.commands import Cancel, Command, Enrol, Ignore, Outcome, RecordOrder, Refund
from loyalty.settings import Settings
from models import InboxStatus, Member, Order
from models import Refund as RefundRow

APPLIED, IGNORED = InboxStatus.APPLIED, InboxStatus.IGNORED


async def apply(settings: Settings, command: Command) -> Outcome:
    """Apply one command; the outcome says applied or ignored, and why."""
    match command:
        case Ignore(reason):
            return Outcome(IGNORED, reason)
        case Enrol(member):
            if not await _join(settings, member):
                return Outcome(IGNORED, f"{member.external_id} is already a member")
            return Outcome(APPLIED, f"enrolled {member.external_id}")
        case RecordOrder(order, customer):
            await _join(settings, customer)
            recorded = await orders.record_order(settings, order)
            earned = (
                "already recorded" if recorded.replayed else f"{recorded.points_awarded} points"
            )
            return Outcome(APPLIED, f"order {order.external_id}: {earned}")
        case Refund(refund):
            found = await Order.get_or_none(external_id=refund.order_external_id)
            if found is None:
                raise NotFound(
                    f"refund for order {refund.order_external_id}, which was never recorded",
                    field="orderExternalId",
                    code=ErrorCode.ORDER_NOT_FOUND,
                )
            cents = to_cents(refund.amount or 0, field="amount", allow_zero=False)
            return await _reverse(settings, found, refund, cents)
        case Cancel(order_external_id, refund_external_id):
            found = await Order.get_or_none(external_id=order_external_id)
            if found is None:
                return Outcome(IGNORED, f"order {order_external_id} never earned: nothing to undo")
            rest = orders.RefundInput(order_external_id, external_id=refund_external_id)
            return await _reverse(settings, found, rest, None)
    raise AssertionError(f"unknown command {command!r}")


async def _join(settings: Settings, customer: members.EnrollInput) -> bool:
    """Enrol the customer unless it is a member already; whether it was enrolled now."""
    if await Member.exists(external_id=customer.external_id.strip()):
        return False
    try:
        await members.enroll(customer, settings)
    except InvalidInput as exc:
        if exc.code is ErrorCode.ALREADY_ENROLLED:  # enrolled by a concurrent delivery
            return False
        raise
    return True


async def _reverse(
    settings: Settings, order: Order, refund: orders.RefundInput, cents: int | None
) -> Outcome:
    """Refund ``cents`` (None: all that is left) of an order, at most what is left of it.

    A platform's refunded money includes shipping and tax, which never earned: a refund
    bigger than what is left on the order reverses the rest.
    """
    key = refund.external_id
    if await RefundRow.exists(external_id=key):
        return Outcome(APPLIED, f"refund {key} on {order.external_id}: already reversed")
    left = order.eligible_cents - order.refunded_cents
    if left <= 0:
        return Outcome(IGNORED, f"nothing left to reverse on order {order.external_id}")
    amount = from_cents(left if cents is None else min(cents, left))
    result = await orders.refund_order(settings, replace(refund, amount=amount))
    done = "already reversed" if result.replayed else f"{result.points_reversed} points reversed"
    return Outcome(APPLIED, f"refund {key} on {order.external_id}: {done}")
