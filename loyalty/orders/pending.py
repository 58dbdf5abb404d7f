"""Pending points: with ``LOYALTY_PENDING_DAYS`` > 0, an order's points wait out the return
window in a pending credit (``member.pending``) and reach the ledger when the jobs runner
releases them. A refund inside the window lowers the pending credit instead of the balance.

The pending row is changed only by conditional updates (``WHERE status = <pending>``), so a
release and a refund racing on the same order cannot both use the same points.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db, ledger
from loyalty.errors import ErrorCode, InvalidInput
from loyalty.ledger import keys
from loyalty.ledger.expiry import lot_expires_at
from loyalty.limits import MAX_BALANCE
from loyalty.settings import Settings
from models import EntryKind, Order, PendingCredit, PendingStatus


async def hold(
    conn: BaseDBAsyncClient, settings: Settings, member_id: int, order: Order, points: int
) -> None:
    """Keep an order's points pending until the return window has passed."""
    await PendingCredit.create(
        member_id=member_id,
        order_id=order.id,
        points=points,
        available_at=order.placed_at + timedelta(days=settings.pending_days),
        using_db=conn,
    )
    changed = await db.execute(
        conn,
        "UPDATE members SET pending = pending + $1 WHERE id = $2 AND pending + $1 <= $3",
        points,
        member_id,
        MAX_BALANCE,
    )
    if changed != 1:
        raise InvalidInput(
            f"pending points may reach at most {MAX_BALANCE}",
            field="points",
            code=ErrorCode.POINTS_LIMIT,
        )


async def take(conn: BaseDBAsyncClient, order: Order, points: int) -> bool:
    """Take refunded points from the order's pending credit; False when it was released."""
    changed = await db.execute(
        conn,
        "UPDATE pending_credits SET points = points - $1 "
        "WHERE order_id = $2 AND status = $3 AND points >= $1",
        points,
        order.id,
        PendingStatus.PENDING.value,
    )
    if changed != 1:
        return False
    await db.execute(
        conn, "UPDATE members SET pending = pending - $1 WHERE id = $2", points, order.member_id
    )
    return True


async def release_due(now: datetime, settings: Settings) -> tuple[int, int]:
    """Move every pending credit whose window has passed into the ledger: (credits, points)."""
    due: list[int] = await PendingCredit.filter(  # type: ignore[assignment]
        status=PendingStatus.PENDING, available_at__lte=now
    ).values_list("id", flat=True)
    released = points_total = 0
    for pending_id in due:
        points = await db.atomic(partial(_release, settings=settings, pending_id=pending_id))
        if points is not None:
            released += 1
            points_total += points
    return released, points_total


async def _release(conn: BaseDBAsyncClient, settings: Settings, pending_id: int) -> int | None:
    rows = await db.fetch(
        conn,
        "UPDATE pending_credits SET status = $2 WHERE id = $1 AND status = $3 "
        "RETURNING points, member_id, order_id",
        pending_id,
        PendingStatus.RELEASED.value,
        PendingStatus.PENDING.value,
    )
    if not rows:
        return None
    points, member_id = int(rows[0]["points"]), int(rows[0]["member_id"])
    await db.execute(
        conn, "UPDATE members SET pending = pending - $1 WHERE id = $2", points, member_id
    )
    if points > 0:
        order = await Order.filter(id=rows[0]["order_id"]).using_db(conn).get()
        await credit_order(conn, settings, member_id, order, points)
    return points


async def credit_order(
    conn: BaseDBAsyncClient,
    settings: Settings,
    member_id: int,
    order: Order,
    points: int,
    *,
    fresh: bool = False,
) -> ledger.Posted:
    """Post an order's points to the ledger, in a lot that expires with the order's age
    (``fresh``: the order was inserted by this transaction, see ``ledger.credit``)."""
    return await ledger.credit(
        conn,
        member_id,
        points,
        kind=EntryKind.EARN_ORDER,
        key=keys.order(order.external_id),
        source=keys.order_source(order.external_id),
        expires_at=lot_expires_at(settings, order.placed_at),
        fresh=fresh,
    )
