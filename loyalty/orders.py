"""Recording orders and refunds: earning on the eligible subtotal, reversing on refunds.

``record_order`` is idempotent on the shop's order id: a retry (also a concurrent one) returns
the first result and credits nothing new. ``refund_order`` is idempotent on the refund id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from loyalty import db, earning, ledger, pending, referrals, rules, tiers
from loyalty.earning import LineInput, PointsBreakdown
from loyalty.errors import Conflict, ErrorCode, InvalidInput, NotFound
from loyalty.ledger import keys
from loyalty.limits import EARLIEST_ORDER, MAX_POINTS, ORDER_CLOCK_SKEW
from loyalty.members import by_external_id
from loyalty.money import to_cents
from loyalty.settings import Settings
from models import EntryKind, Member, Order, OrderLine, Product, Refund


@dataclass(frozen=True)
class OrderInput:
    external_id: str
    member_external_id: str
    lines: list[LineInput]
    currency: str | None = None
    placed_at: datetime | None = None
    discount: Decimal | int | str = 0
    shipping: Decimal | int | str = 0


@dataclass(frozen=True)
class OrderResult:
    order: Order
    points_awarded: int
    replayed: bool


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


async def preview(
    settings: Settings,
    lines: list[LineInput],
    discount: Decimal | int | str = 0,
    member_external_id: str | None = None,
    at: datetime | None = None,
) -> PointsBreakdown:
    """What an order with these lines would earn now (for this member); writes nothing."""
    checked = earning.validate_lines(lines)
    discount_cents = earning.order_amount(discount, field="discount")
    earning.compute(checked, discount_cents, settings)  # input errors before any read
    member = await by_external_id(member_external_id) if member_external_id else None
    context = await rules.earning_context(
        member.id if member else None, checked, at or datetime.now(UTC)
    )
    return earning.compute(checked, discount_cents, settings, context)


def _check_currency(settings: Settings, currency: str | None) -> None:
    if currency is not None and currency.upper() != settings.currency:
        raise InvalidInput(
            f"the programme runs in {settings.currency}, not {currency}",
            field="currency",
            code=ErrorCode.CURRENCY_MISMATCH,
        )


_LOOKUP = (
    "SELECT (SELECT id FROM orders WHERE external_id = $1) AS order_id, "
    "(SELECT id FROM members WHERE external_id = $2) AS member_id, "
    f"({rules.TOKEN_SQL}) AS token"
)
_MEMBER_ORDERED = (
    "UPDATE members SET lifetime_spend_cents = lifetime_spend_cents + $1, "
    "last_order_at = CASE WHEN last_order_at IS NULL OR last_order_at < $2 "
    "THEN $2 ELSE last_order_at END "
    "WHERE id = $3 RETURNING referred_by_id"
)


async def record_order(settings: Settings, data: OrderInput) -> OrderResult:
    """Record a shop order once and credit its points.

    The hot path of the service: one lookup (the order id, the member, the programme's
    version), one read of the products, then one transaction whose first statement updates
    (and so locks) the member, so caps and tiers see this member's orders one at a time.
    """
    external_id = (data.external_id or "").strip()
    if not external_id or len(external_id) > 255:
        raise InvalidInput("externalId must be 1 to 255 characters", field="externalId")
    [looked] = await db.fetch(db.connection(), _LOOKUP, external_id, data.member_external_id)
    if looked["order_id"] is not None:
        return await _replay(await Order.get(id=looked["order_id"]), data.member_external_id)
    _check_currency(settings, data.currency)
    lines = earning.validate_lines(data.lines)
    discount = earning.order_amount(data.discount, field="discount")
    shipping = earning.order_amount(data.shipping, field="shipping")
    eligible = earning.compute(lines, discount, settings).eligible_cents  # input errors first
    member_id = looked["member_id"]
    if member_id is None:
        raise NotFound(
            "member not found", field="memberExternalId", code=ErrorCode.MEMBER_NOT_FOUND
        )
    placed_at = _placed_at(data.placed_at)
    config = await rules.config_for(db.connection(), looked["token"])
    products = await ensure_products(lines)
    categories = {sku: category for sku, (_, category) in products.items()}

    async def write(conn: BaseDBAsyncClient) -> tuple[Order, int]:
        [member] = await db.fetch(conn, _MEMBER_ORDERED, eligible, placed_at, member_id)
        context = await rules.earning_context(
            member_id, lines, placed_at, conn, config=config, categories=categories
        )
        breakdown = earning.compute(lines, discount, settings, context)
        values = {
            "external_id": external_id,
            "member_id": member_id,
            "placed_at": placed_at,
            "currency": settings.currency,
            "subtotal_cents": breakdown.subtotal_cents,
            "discount_cents": discount,
            "shipping_cents": shipping,
            "eligible_cents": breakdown.eligible_cents,
            "points_awarded": breakdown.points,
            "refunded_cents": 0,
            "points_reversed": 0,
            "created_at": datetime.now(UTC),
        }
        [order_id] = await db.insert(conn, Order, [values])
        order = Order(id=order_id, **values)
        order._saved_in_db = True
        await db.insert(
            conn,
            OrderLine,
            [
                {
                    "order_id": order_id,
                    "product_id": products[line.sku][0],
                    "quantity": line.quantity,
                    "unit_price_cents": line.unit_price_cents,
                    "line_total_cents": line.total_cents,
                }
                for line in lines
            ],
            returning="",
        )
        await _credit_order(conn, settings, member_id, order, breakdown.points)
        if member["referred_by_id"] is not None:
            await referrals.on_order(conn, settings, member_id, member["referred_by_id"], order)
        if config.tiers:
            current = config.tier(context.tier_id)
            await tiers.upgrade_from(conn, member_id, placed_at, config.tiers, current)
        return order, breakdown.points

    try:
        order, points = await db.atomic(write)
    except IntegrityError:
        found = await Order.get_or_none(external_id=external_id)
        if found is None:
            raise
        return await _replay(found, data.member_external_id)
    return OrderResult(order, points, replayed=False)


def _placed_at(value: datetime | None) -> datetime:
    """When the order was placed (now if not given), within a sane window."""
    now = datetime.now(UTC)
    if value is None:
        return now
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not EARLIEST_ORDER <= value <= now + ORDER_CLOCK_SKEW:
        raise InvalidInput(
            f"placedAt must be between {EARLIEST_ORDER.date()} and a day from now",
            field="placedAt",
            code=ErrorCode.INVALID_DATE,
        )
    return value


async def _credit_order(
    conn: BaseDBAsyncClient, settings: Settings, member_id: int, order: Order, points: int
) -> None:
    """Credit a just-inserted order's points (or hold them for the return window)."""
    if points > 0 and settings.pending_days > 0:
        await pending.hold(conn, settings, member_id, order, points)
    elif points > 0:
        await pending.credit_order(conn, settings, member_id, order, points, fresh=True)


async def _replay(order: Order, member_external_id: str) -> OrderResult:
    member = await Member.get(id=order.member_id)
    if member.external_id != member_external_id:
        raise Conflict(
            "this order id was already recorded for another member",
            field="externalId",
            code=ErrorCode.IDEMPOTENCY_CONFLICT,
        )
    return OrderResult(order, order.points_awarded, replayed=True)


async def ensure_products(lines: list[earning.Line]) -> dict[str, tuple[int, str | None]]:
    """Product id and category by sku; skus the catalogue does not know yet are created from
    the lines."""
    skus = sorted({line.sku for line in lines})
    known = {sku: (pid, category) for sku, pid, category in await _products(skus)}
    missing = {line.sku: line for line in lines if line.sku not in known}
    if missing:
        await Product.bulk_create(
            [
                Product(
                    sku=sku,
                    name=line.name or sku,
                    category=line.category,
                    price_cents=line.unit_price_cents,
                )
                for sku, line in missing.items()
            ],
            ignore_conflicts=True,
        )
        known.update(
            {sku: (pid, category) for sku, pid, category in await _products(sorted(missing))}
        )
    return known


async def _products(skus: list[str]) -> list[tuple[str, int, str | None]]:
    conn = db.connection()
    marks = ", ".join(f"${i}" for i in range(1, len(skus) + 1))
    rows = await db.fetch(
        conn, f"SELECT sku, id, category FROM products WHERE sku IN ({marks})", *skus
    )
    return [(row["sku"], row["id"], row["category"]) for row in rows]


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
        from_pending = points > 0 and await pending.take(conn, order, points)
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

    try:
        return await db.atomic(write)
    except IntegrityError:
        found = await Refund.get_or_none(external_id=key)
        if found is None:
            raise
        return await _refund_replay(found, order)


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


async def adjust_points(
    member_id: int, points: int, reason: str, key: str | None = None
) -> ledger.Posted:
    """An admin correction: a new entry, positive or negative; never below zero."""
    if points == 0:
        raise InvalidInput("points must not be zero", field="points")
    if not reason or not reason.strip() or len(reason) > 200:
        raise InvalidInput("reason must be 1 to 200 characters", field="reason")
    if abs(points) > MAX_POINTS:
        raise InvalidInput("points are out of range", field="points")
    if key is not None and not 0 < len(key) <= 200:
        raise InvalidInput("idempotencyKey must be 1 to 200 characters", field="idempotencyKey")
    entry_key = keys.adjustment(key)
    if await Member.get_or_none(id=member_id) is None:
        raise NotFound("member not found", field="memberId", code=ErrorCode.MEMBER_NOT_FOUND)

    async def write(conn: BaseDBAsyncClient) -> ledger.Posted:
        if points > 0:
            return await ledger.credit(
                conn,
                member_id,
                points,
                kind=EntryKind.ADJUST,
                key=entry_key,
                source=f"adjust:{reason.strip()}"[:255],
                lifetime=False,
            )
        return await ledger.debit(
            conn,
            member_id,
            -points,
            kind=EntryKind.ADJUST,
            key=entry_key,
            source=f"adjust:{reason.strip()}"[:255],
        )

    try:
        return await db.atomic(write)
    except IntegrityError:
        found = await ledger.existing(entry_key)
        if found is None:
            raise
        return ledger.Posted(found, created=False)
