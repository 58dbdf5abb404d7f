"""Recording orders: earning on the eligible subtotal, idempotent on the shop's order id (a
retry, also a concurrent one, returns the first result and credits nothing new), and the
points a cart would earn (``preview``, the same computation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.errors import Conflict, ErrorCode, InvalidInput, NotFound
from loyalty.limits import EARLIEST_ORDER, ORDER_CLOCK_SKEW
from loyalty.members import by_external_id, referrals
from loyalty.orders.pending import credit_order, hold
from loyalty.programme import earning, tiers
from loyalty.programme.config import TOKEN_SQL, config_for
from loyalty.programme.context import earning_context
from loyalty.programme.earning import LineInput, PointsBreakdown
from loyalty.settings import Settings
from models import Member, Order, OrderLine, Product


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
    context = await earning_context(member.id if member else None, checked, at or datetime.now(UTC))
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
    "(SELECT closed_at FROM members WHERE external_id = $2) AS closed_at, "
    f"({TOKEN_SQL}) AS token"
)
_MEMBER_ORDERED = (
    "UPDATE members SET lifetime_spend_cents = lifetime_spend_cents + $1, "
    "last_order_at = CASE WHEN last_order_at IS NULL OR last_order_at < $2 "
    "THEN $2 ELSE last_order_at END "
    "WHERE id = $3 AND erased_at IS NULL RETURNING referred_by_id"
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
    if looked["closed_at"] is not None:
        raise InvalidInput(
            "the shop deleted this customer: its orders no longer earn",
            field="memberExternalId",
            code=ErrorCode.MEMBER_CLOSED,
        )
    placed_at = _placed_at(data.placed_at)
    config = await config_for(db.connection(), looked["token"])
    products = await ensure_products(lines)
    categories = {sku: category for sku, (_, category) in products.items()}

    async def write(conn: BaseDBAsyncClient) -> OrderResult:
        ordered = await db.fetch(conn, _MEMBER_ORDERED, eligible, placed_at, member_id)
        if not ordered:  # erased since it was looked up
            raise NotFound(
                "member not found", field="memberExternalId", code=ErrorCode.MEMBER_NOT_FOUND
            )
        [member] = ordered
        context = await earning_context(
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
        return OrderResult(order, breakdown.points, replayed=False)

    async def replay() -> OrderResult | None:
        found = await Order.get_or_none(external_id=external_id)
        return None if found is None else await _replay(found, data.member_external_id)

    return await db.atomic_idempotent(write, replay)


def check_order(settings: Settings, data: OrderInput) -> None:
    """Raise what ``record_order`` would raise about the order itself (currency, lines,
    amounts, date), reading nothing: a guest order is checked when it is kept, so that its
    claim, later, does not fail on it."""
    _check_currency(settings, data.currency)
    lines = earning.validate_lines(data.lines)
    earning.order_amount(data.shipping, field="shipping")
    earning.compute(lines, earning.order_amount(data.discount, field="discount"), settings)
    _placed_at(data.placed_at)


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
        await hold(conn, settings, member_id, order, points)
    elif points > 0:
        await credit_order(conn, settings, member_id, order, points, fresh=True)


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
                    vendor=line.vendor,
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


@dataclass(frozen=True)
class ProductInput:
    """What a shop says about one of its products (a platform's product feed)."""

    sku: str
    name: str
    category: str | None = None
    vendor: str | None = None


async def describe_products(products: list[ProductInput]) -> tuple[int, int]:
    """Bring the catalogue in line with the shop's product data: new skus are created, known
    ones get the name, category and vendor given (a field the shop leaves empty is kept).
    How many were created and how many changed. Orders that earned keep what they earned."""
    for at, product in enumerate(products):
        _check_product(product, f"products.{at}")
    latest = {product.sku.strip(): product for product in products}
    known = {row.sku: row for row in await Product.filter(sku__in=sorted(latest))}
    created = [
        Product(sku=sku, name=p.name, category=p.category, vendor=p.vendor)
        for sku, p in latest.items()
        if sku not in known
    ]
    if created:
        await Product.bulk_create(created, ignore_conflicts=True)
    changed = 0
    for sku, row in known.items():
        given = latest[sku]
        changes = {
            name: value
            for name, value in (
                ("name", given.name),
                ("category", given.category),
                ("vendor", given.vendor),
            )
            if value and value != getattr(row, name)
        }
        if changes:
            await Product.filter(id=row.id).update(**changes)
            changed += 1
    return len(created), changed


def _check_product(product: ProductInput, at: str) -> None:
    sku = product.sku.strip()
    if not sku or len(sku) > 64:
        raise InvalidInput("sku must be 1 to 64 characters", field=f"{at}.sku")
    if not product.name.strip() or len(product.name) > 255:
        raise InvalidInput("name must be 1 to 255 characters", field=f"{at}.name")
    if product.category is not None and len(product.category) > 128:
        raise InvalidInput("category is longer than 128 characters", field=f"{at}.category")
    if product.vendor is not None and len(product.vendor) > 255:
        raise InvalidInput("vendor is longer than 255 characters", field=f"{at}.vendor")


async def _products(skus: list[str]) -> list[tuple[str, int, str | None]]:
    conn = db.connection()
    rows = await db.fetch(
        conn,
        f"SELECT sku, id, category FROM products WHERE sku IN ({db.in_list(len(skus))})",
        *skus,
    )
    return [(row["sku"], row["id"], row["category"]) for row in rows]
