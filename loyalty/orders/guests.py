"""Guest orders: a paid order placed without a customer account is kept, keyed on its
normalised e-mail, and recorded for the member who enrols with that e-mail within
``guest_claim_days`` (``LOYALTY_GUEST_CLAIM_DAYS``) of the order's ``placed_at``.

Credited once: a claim records the order under its own external id, which the orders table
holds once, so of two members enrolling with one e-mail at the same time the first to record
it is credited and the other finds it recorded for someone else. Refunds and a cancellation
that arrive before the claim are kept with the guest order and reversed when it is claimed; a
cancelled guest order is never claimed. Each side writes first and looks second (a refund is
kept, then the recorded order looked for; a claim records the order, then reads the kept
refunds), so a refund racing a claim is reversed by one of them, and once, by its refund id.

The API and the shop platforms enrol through ``enroll_and_claim``: orders build on members, so
``members.enroll`` itself cannot reach this module.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tortoise.exceptions import IntegrityError

from loyalty import members
from loyalty.errors import Conflict, ErrorCode
from loyalty.orders.record import OrderInput, OrderResult, check_order, record_order
from loyalty.orders.refunds import refund_at_most
from loyalty.programme.earning import LineInput
from loyalty.settings import Settings
from models import GuestOrder, GuestRefund, Member, Order

log = logging.getLogger(__name__)


async def keep(settings: Settings, order: OrderInput, email_normalized: str) -> datetime | None:
    """Keep a paid guest order for the member who enrols with this (normalised) e-mail; until
    when it can be claimed, or None when that is already past and nothing was kept.

    The order is checked now as ``record_order`` will check it, so a claim does not fail on it.
    Keeping it again changes nothing.
    """
    placed_at = order.placed_at or datetime.now(UTC)
    if placed_at.tzinfo is None:  # as record_order reads it
        placed_at = placed_at.replace(tzinfo=UTC)
    until = placed_at + timedelta(days=settings.guest_claim_days)
    if until < datetime.now(UTC):
        return None
    check_order(settings, order)
    try:
        await GuestOrder.create(
            external_id=order.external_id,
            email_normalized=email_normalized,
            placed_at=placed_at,
            order=json.dumps(asdict(replace(order, placed_at=None)), default=str),
        )
    except IntegrityError:
        pass  # kept by an earlier delivery of the same order
    return until


async def hold_refund(order_external_id: str, refund_external_id: str, cents: int | None) -> bool:
    """Keep a refund (None: a cancellation) of a guest order until the order is claimed;
    whether there is such a guest order. Keeping it again changes nothing."""
    guest = await GuestOrder.get_or_none(external_id=order_external_id)
    if guest is None:
        return False
    try:
        await GuestRefund.create(
            external_id=refund_external_id, guest_order_id=guest.id, amount_cents=cents
        )
    except IntegrityError:
        pass  # kept by an earlier delivery
    return True


async def enroll_and_claim(data: members.EnrollInput, settings: Settings) -> Member:
    """Enrol a member (``members.enroll``), then record for it the guest orders it claims."""
    member = await members.enroll(data, settings)
    if await claim(settings, member):
        await member.refresh_from_db()
    return member


async def claim_for_known_email(settings: Settings, email_normalized: str) -> Member | None:
    """A guest order placed with the e-mail of the one member who has it is that member's:
    record what is waiting for the e-mail now; the member credited, or None (no member with
    that e-mail, or several: then it waits for a claim like any guest order)."""
    if not email_normalized or settings.guest_claim_days <= 0:
        return None
    owners = await Member.filter(
        email_normalized=email_normalized, closed_at__isnull=True, erased_at__isnull=True
    ).limit(2)
    if len(owners) != 1:
        return None
    await claim(settings, owners[0])
    return owners[0]


async def purge(now: datetime, settings: Settings) -> int:
    """Drop the guest orders (with their kept refunds) whose claim window has closed; how many.

    A claimed one is recorded in the orders table by then; an unclaimed one can no longer be
    claimed, and keeping its e-mail longer would serve nothing."""
    cutoff = now - timedelta(days=max(settings.guest_claim_days, 0))
    stale = await GuestOrder.filter(placed_at__lt=cutoff).values_list("id", flat=True)
    if not stale:
        return 0
    await GuestRefund.filter(guest_order_id__in=stale).delete()
    return await GuestOrder.filter(id__in=stale).delete()


async def claim(settings: Settings, member: Member) -> list[OrderResult]:
    """Record and credit, for a member who has just enrolled, the guest orders placed with its
    e-mail inside the claim window; what each recorded.

    Enrolment has committed by now and stands whatever happens here: an order that cannot be
    claimed is logged and left for the next member with that e-mail.
    """
    if not member.email_normalized or settings.guest_claim_days <= 0:
        return []
    since = datetime.now(UTC) - timedelta(days=settings.guest_claim_days)
    waiting = await GuestOrder.filter(
        email_normalized=member.email_normalized, claimed_by_id=None, placed_at__gte=since
    ).order_by("placed_at", "id")
    recorded = []
    for guest in waiting:
        try:
            result = await _claim(settings, member, guest)
        except Exception:
            log.exception("claiming guest order %s for %s failed", guest.external_id, member.id)
            continue
        if result is not None:
            recorded.append(result)
    return recorded


async def _claim(settings: Settings, member: Member, guest: GuestOrder) -> OrderResult | None:
    """Record one guest order for the member, then reverse the refunds kept for it."""
    if await GuestRefund.exists(guest_order_id=guest.id, amount_cents__isnull=True):
        return None  # cancelled before anyone claimed it
    try:
        result = await record_order(settings, _order_input(guest, member.external_id))
    except Conflict as exc:
        if exc.code is ErrorCode.IDEMPOTENCY_CONFLICT:
            return None  # another member with this e-mail recorded it first
        raise
    await GuestOrder.filter(id=guest.id, claimed_by_id=None).update(
        claimed_by_id=member.id, claimed_at=datetime.now(UTC)
    )
    for refund in await GuestRefund.filter(guest_order_id=guest.id).order_by("id"):
        order = await Order.get(id=result.order.id)
        await refund_at_most(settings, order, refund.external_id, refund.amount_cents)
    return result


def _order_input(guest: GuestOrder, member_external_id: str) -> OrderInput:
    """The kept order as the domain's input, for this member."""
    kept = json.loads(guest.order)
    lines = [
        LineInput(**{**line, "unit_price": Decimal(line["unit_price"])}) for line in kept["lines"]
    ]
    return OrderInput(
        **{
            **kept,
            "lines": lines,
            "member_external_id": member_external_id,
            "placed_at": guest.placed_at,
        }
    )
