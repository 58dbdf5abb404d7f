"""Carrying out a platform's command through the programme's own services, idempotently: the
order id, the refund id and the member's external id make a second application change nothing.
A guest order, and a refund of one, is kept for its claim (``loyalty.orders.guests``). Domain
errors propagate; the inbox parks the delivery with them."""

from __future__ import annotations

from loyalty import members, orders
from loyalty.errors import ErrorCode, InvalidInput, NotFound
from loyalty.members import closing
from loyalty.money import to_cents
from loyalty.orders import guests
from loyalty.platforms.commands import (
    Cancel,
    Close,
    Command,
    Enrol,
    Erase,
    Ignore,
    KeepForClaim,
    Outcome,
    Park,
    RecordOrder,
    Refund,
    Steps,
)
from loyalty.privacy import erasure
from loyalty.settings import Settings
from models import InboxStatus, Member, Order

APPLIED, IGNORED, PARKED = InboxStatus.APPLIED, InboxStatus.IGNORED, InboxStatus.PARKED


async def apply(settings: Settings, command: Command) -> Outcome:
    """Apply one command; the outcome says applied or ignored, and why."""
    match command:
        case Ignore(reason):
            return Outcome(IGNORED, reason)
        case Park(reason):
            return Outcome(PARKED, reason)
        case Erase(external_id, email, reason):
            # Reasons name members by id only: the customer's own id is what is being erased.
            member = await Member.get_or_none(external_id=external_id)
            if member is None:
                await erasure.forget(erasure.Person(external_id, email, None))
                return Outcome(IGNORED, "not a member: its deliveries and guest orders erased")
            erased = await erasure.erase(settings, member.id, reason)
            return Outcome(APPLIED, f"member {member.id} erased" + (" before" * erased.replayed))
        case Close(external_id):
            closed = await closing.close(external_id)
            if closed is None:
                return Outcome(IGNORED, f"customer {external_id} is not a member")
            return Outcome(APPLIED, f"member {closed.id} closed: its orders no longer earn")
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
        case KeepForClaim(order, email):
            until = await guests.keep(settings, order, members.normalize_email(email))
            if until is None:
                return Outcome(
                    IGNORED,
                    f"guest order {order.external_id} is older than the "
                    f"{settings.guest_claim_days} days a member has to claim it",
                )
            return Outcome(
                APPLIED,
                f"guest order {order.external_id}: kept for the member who enrols with its "
                f"e-mail by {until.date()}",
            )
        case Refund(refund):
            cents = to_cents(refund.amount or 0, field="amount", allow_zero=False)
            order_id, key = refund.order_external_id, refund.external_id
            assert key is not None, "a platform's refund has its own id"
            found, held = await _order_for(order_id, key, cents)
            if held:
                return Outcome(
                    APPLIED, f"refund {key} on guest order {order_id}: kept for its claim"
                )
            if found is None:
                raise NotFound(
                    f"refund for order {order_id}, which was never recorded",
                    field="orderExternalId",
                    code=ErrorCode.ORDER_NOT_FOUND,
                )
            return await _reverse(settings, found, key, cents)
        case Cancel(order_id, key):
            found, held = await _order_for(order_id, key, None)
            if held:
                return Outcome(APPLIED, f"guest order {order_id} cancelled: no one can claim it")
            if found is None:
                return Outcome(IGNORED, f"order {order_id} never earned: nothing to undo")
            return await _reverse(settings, found, key, None)
        case Steps((first, *rest)):
            outcomes = [await apply(settings, first)]
            if outcomes[0].status is not IGNORED:
                outcomes += [await apply(settings, step) for step in rest]
            reasons = "; ".join(outcome.reason for outcome in outcomes if outcome.reason)
            return Outcome(outcomes[0].status, reasons)
    raise AssertionError(f"unknown command {command!r}")


async def _order_for(order_id: str, key: str, cents: int | None) -> tuple[Order | None, bool]:
    """The recorded order that refund ``key`` (``cents`` None: a cancellation) reverses, and
    whether the refund was kept for an unclaimed guest order instead."""
    found = await Order.get_or_none(external_id=order_id)
    if found is not None or not await guests.hold_refund(order_id, key, cents):
        return found, False
    # Kept first, looked for again second: a claim that recorded the order meanwhile may have
    # read the kept refunds before this one was there (reversed twice is once: by refund id).
    found = await Order.get_or_none(external_id=order_id)
    return found, found is None


async def _join(settings: Settings, customer: members.EnrollInput) -> bool:
    """Enrol the customer unless it is a member already; whether it was enrolled now. A
    customer whose member was erased is not enrolled again by a delivery."""
    if await Member.exists(external_id=customer.external_id.strip()):
        return False
    if await erasure.erased_external_id(customer.external_id, settings):
        raise InvalidInput(
            "this customer's member was erased: only an explicit enrolment starts a new one",
            field="memberExternalId",
            code=ErrorCode.MEMBER_ERASED,
        )
    try:
        await guests.enroll_and_claim(customer, settings)
    except InvalidInput as exc:
        if exc.code is ErrorCode.ALREADY_ENROLLED:  # enrolled by a concurrent delivery
            return False
        raise
    return True


async def _reverse(settings: Settings, order: Order, key: str, cents: int | None) -> Outcome:
    """Refund ``cents`` (None: all that is left) of an order, at most what is left of it."""
    result = await orders.refund_at_most(settings, order, key, cents)
    if result is None:
        return Outcome(IGNORED, f"nothing left to reverse on order {order.external_id}")
    done = "already reversed" if result.replayed else f"{result.points_reversed} points reversed"
    return Outcome(APPLIED, f"refund {key} on {order.external_id}: {done}")
