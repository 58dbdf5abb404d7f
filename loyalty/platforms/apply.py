"""Carrying out a platform's command through the programme's own services, idempotently: the
order id, the refund id and the member's external id make a second application change nothing.
A guest order, and a refund of one, is kept for its claim (``loyalty.orders.guests``). Domain
errors propagate; the inbox parks the delivery with them."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from loyalty import members, orders
from loyalty.errors import ErrorCode, InvalidInput, NotFound
from loyalty.members import closing
from loyalty.money import to_cents
from loyalty.orders import guests
from loyalty.platforms.commands import (
    Cancel,
    Close,
    Command,
    DescribeProducts,
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
from models import EarlyCancellation, InboxStatus, Member, Order

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
            if await _join(settings, member):
                return Outcome(APPLIED, f"enrolled {member.external_id}")
            if await members.update_contact(member.external_id, member.email, member.name):
                return Outcome(APPLIED, f"{member.external_id}: e-mail and name updated")
            return Outcome(IGNORED, f"{member.external_id} is already a member, unchanged")
        case RecordOrder(order, customer):
            if await EarlyCancellation.exists(order_external_id=order.external_id):
                return Outcome(IGNORED, f"order {order.external_id} was cancelled")
            await _join(settings, customer)
            recorded = await orders.record_order(settings, order)
            earned = (
                "already recorded" if recorded.replayed else f"{recorded.points_awarded} points"
            )
            # Recorded first, looked for second: a cancellation that arrived meanwhile found no
            # order to reverse and left its mark; it is reversed here (once: by its refund id).
            early = await EarlyCancellation.get_or_none(order_external_id=order.external_id)
            if early is not None:
                cancelled = await Order.get(external_id=order.external_id)
                await _reverse(settings, cancelled, early.refund_external_id, None)
                earned += ", then reversed: the order was cancelled"
            return Outcome(APPLIED, f"order {order.external_id}: {earned}")
        case KeepForClaim(order, email):
            if await EarlyCancellation.exists(order_external_id=order.external_id):
                return Outcome(IGNORED, f"guest order {order.external_id} was cancelled")
            normalized = members.normalize_email(email)
            until = await guests.keep(settings, order, normalized)
            if until is None:
                return Outcome(
                    IGNORED,
                    f"guest order {order.external_id} is older than the "
                    f"{settings.guest_claim_days} days a member has to claim it",
                )
            claimed = await guests.claim_for_known_email(settings, normalized)
            if claimed is not None:
                return Outcome(
                    APPLIED,
                    f"guest order {order.external_id}: its e-mail is member "
                    f"{claimed.external_id}'s, credited to it",
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
        case Cancel(order_id, key, final):
            found, held = await _order_for(order_id, key, None)
            if held:
                return Outcome(APPLIED, f"guest order {order_id} cancelled: no one can claim it")
            if found is None and not final:
                return Outcome(IGNORED, f"order {order_id} never earned: nothing to undo")
            if found is None:
                found = await _mark_cancelled(order_id, key)
            if found is None:
                return Outcome(
                    APPLIED,
                    f"order {order_id} cancelled before it was recorded: a later paid "
                    "delivery of it earns nothing",
                )
            return await _reverse(settings, found, key, None)
        case DescribeProducts(products):
            created, changed = await orders.describe_products(list(products))
            return Outcome(
                APPLIED if created or changed else IGNORED,
                f"catalogue: {created} product(s) added, {changed} updated",
            )
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


async def _mark_cancelled(order_id: str, key: str) -> Order | None:
    """Leave the mark that stops a later paid delivery of a cancelled order from earning, then
    look for the order once more: one recorded meanwhile is the caller's to reverse."""
    try:
        await EarlyCancellation.create(order_external_id=order_id, refund_external_id=key)
    except IntegrityError:
        pass  # marked by an earlier delivery of the cancellation
    return await Order.get_or_none(external_id=order_id)


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
