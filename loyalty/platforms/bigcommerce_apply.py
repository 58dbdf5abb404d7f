"""A BigCommerce callback carried out: fetch what it names from the API, map it
(``bigcommerce``), apply it (``apply``). The inbox's handler of BigCommerce deliveries and
``loyalty sync bigcommerce`` both come through here, so an order earns the same way however
it arrives.

An order is brought in line with its state at BigCommerce, whichever callback named it:
recorded once it is paid, each of its refunds reversed once, the rest reversed when it is
refunded, cancelled or declined. Everything it does is idempotent (order id, refund id,
member id), so a callback applied again, or a sync over orders already applied, changes
nothing. When the API cannot be reached the delivery is parked with what it answered.
"""

from __future__ import annotations

from typing import Any

from loyalty.platforms import bigcommerce
from loyalty.platforms.apply import apply
from loyalty.platforms.bigcommerce_api import BigCommerceApi, connect
from loyalty.platforms.client import INTERACTIVE, Unavailable
from loyalty.platforms.commands import Close, Ignore, Outcome
from loyalty.settings import Settings
from models import InboxStatus, Order

APPLIED, IGNORED, PARKED = InboxStatus.APPLIED, InboxStatus.IGNORED, InboxStatus.PARKED


async def handle(settings: Settings, topic: str, body: dict[str, Any]) -> Outcome:
    """Carry out one callback; parked with the API's answer when the fetch fails."""
    named = bigcommerce.callback(topic, body)
    if isinstance(named, Ignore):
        return Outcome(IGNORED, named.reason)
    if isinstance(named, Close):
        return await apply(settings, named)
    try:
        async with connect(settings, INTERACTIVE) as api:
            if named.is_customer:
                return await apply_customer(settings, api, named.id)
            order = await api.order(named.id)
            refunds = topic == bigcommerce.REFUND_SCOPE
            return await apply_order(settings, api, order, refunds=refunds)
    except Unavailable as exc:
        return Outcome(PARKED, f"BigCommerce API: {exc}")


async def apply_customer(settings: Settings, api: BigCommerceApi, customer_id: str) -> Outcome:
    """Enrol a customer as BigCommerce has it."""
    customer = await api.customer(customer_id)
    if customer is None:
        return Outcome(IGNORED, f"customer {customer_id} is not in the store")
    return await apply(settings, bigcommerce.customer_command(customer))


async def apply_order(
    settings: Settings, api: BigCommerceApi, order: dict[str, Any], *, refunds: bool = False
) -> Outcome:
    """Bring the programme in line with a V2 order: record it when paid, reverse its refunds
    (fetched when ``refunds`` or its status says there are some), undo the rest when it was
    refunded, cancelled or declined."""
    now = bigcommerce.state(order)
    outcomes: list[Outcome] = []
    recorded = await Order.exists(external_id=now.external_id)
    if now.records and not recorded:
        products = await api.order_products(now.id)
        outcomes.append(await apply(settings, bigcommerce.record_command(order, products)))
        recorded = await Order.exists(external_id=now.external_id)
    elif now.records:
        outcomes.append(Outcome(APPLIED, f"order {now.external_id}: already recorded"))
    elif not now.undone:
        outcomes.append(Outcome(IGNORED, now.waiting))
    if (refunds or now.refunded) and recorded:
        for command in bigcommerce.refund_commands(now.id, await api.order_refunds(now.id)):
            outcomes.append(await apply(settings, command))
    if now.undone:
        outcomes.append(await apply(settings, bigcommerce.cancel_command(now)))
    return combined(outcomes)


async def apply_refund(settings: Settings, refund: dict[str, Any]) -> Outcome:
    """Reverse one V3 refund of an order that was credited."""
    found = bigcommerce.refund_order_id(refund)
    external_id = bigcommerce.order_id(found)
    if not await Order.exists(external_id=external_id):
        return Outcome(IGNORED, f"order {external_id} never earned: no refund to reverse")
    commands = bigcommerce.refund_commands(found, [refund])
    return combined([await apply(settings, command) for command in commands])


def combined(outcomes: list[Outcome]) -> Outcome:
    """Several steps as one outcome: applied when any step was, their reasons in order."""
    status = APPLIED if any(o.status is APPLIED for o in outcomes) else IGNORED
    return Outcome(status, "; ".join(o.reason for o in outcomes if o.reason) or None)
