"""Orders earn, refunds reverse, retries change nothing; bad input changes nothing."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from loyalty import orders
from loyalty.errors import Conflict, ErrorCode, LoyaltyError
from loyalty.ledger import adjust, check
from loyalty.programme import earning
from models import LedgerEntry, Member, Order, Product
from tests.support import enroll, lines, order

pytestmark = pytest.mark.usefixtures("database")


async def snapshot() -> tuple[int, int, int, list[int]]:
    return (
        await Order.all().count(),
        await LedgerEntry.all().count(),
        await Product.all().count(),
        sorted(await Member.all().values_list("balance", flat=True)),
    )


async def test_order_earns_one_point_per_unit_rounded_down(database):
    await enroll()

    result = await orders.record_order(
        database,
        orders.OrderInput(
            "o-1",
            "cust-1",
            lines(("A", 2, "10.75"), ("B", 1, "5.99")),
            discount="3.00",
            shipping="4.95",
        ),
    )

    # 21.50 + 5.99 - 3.00 = 24.49 eligible, shipping excluded -> 24 points
    assert result.points_awarded == 24
    assert result.order.eligible_cents == 2449
    member = await Member.get(external_id="cust-1")
    assert member.balance == 24 and member.lifetime_points == 24
    assert member.lifetime_spend_cents == 2449


async def test_unknown_sku_creates_the_product(database):
    await enroll()

    await orders.record_order(
        database,
        orders.OrderInput(
            "o-1",
            "cust-1",
            [earning.LineInput("NEW-1", 1, Decimal("3.00"), name="Tea", category="drinks")],
        ),
    )

    product = await Product.get(sku="NEW-1")
    assert (product.name, product.category, product.price_cents) == ("Tea", "drinks", 300)


async def test_replayed_order_returns_the_first_result_and_credits_nothing(database):
    await enroll()
    first = await order(database, "o-1")
    again = await order(database, "o-1")

    assert not first.replayed and again.replayed
    assert again.order.id == first.order.id and again.points_awarded == 100
    assert (await Member.get(external_id="cust-1")).balance == 100


async def test_same_order_fifty_times_concurrently_is_credited_once(database):
    await enroll()

    results = await asyncio.gather(*(order(database, "o-1") for _ in range(50)))

    assert sum(not r.replayed for r in results) == 1
    assert {r.order.id for r in results} == {results[0].order.id}
    assert (await Member.get(external_id="cust-1")).balance == 100
    assert await LedgerEntry.all().count() == 1
    assert await check.violations() == []


async def test_same_order_id_for_another_member_is_a_conflict(database):
    await enroll("cust-1")
    await enroll("cust-2")
    await order(database, "o-1", "cust-1")

    with pytest.raises(Conflict):
        await order(database, "o-1", "cust-2")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"member_external_id": "nobody"}, ErrorCode.MEMBER_NOT_FOUND),
        ({"lines": lines(("A", -1, "5.00"))}, ErrorCode.INVALID_QUANTITY),
        ({"lines": lines(("A", 0, "5.00"))}, ErrorCode.INVALID_QUANTITY),
        ({"lines": lines(("A", 1, "-5.00"))}, ErrorCode.INVALID_AMOUNT),
        ({"lines": lines(("A", 1, "5.001"))}, ErrorCode.INVALID_AMOUNT),
        ({"lines": []}, ErrorCode.EMPTY_ORDER),
        ({"currency": "EUR"}, ErrorCode.CURRENCY_MISMATCH),
        ({"discount": "500.00"}, ErrorCode.INVALID_AMOUNT),
        ({"external_id": ""}, ErrorCode.INVALID),
    ],
)
async def test_bad_orders_are_refused_and_change_nothing(database, kwargs, code):
    await enroll()
    before = await snapshot()
    data = {
        "external_id": "o-1",
        "member_external_id": "cust-1",
        "lines": lines(("A", 1, "10.00")),
        **kwargs,
    }

    with pytest.raises(LoyaltyError) as raised:
        await orders.record_order(database, orders.OrderInput(**data))

    assert raised.value.code == code
    assert await snapshot() == before


async def test_partial_refunds_reverse_proportional_points(database):
    await enroll()
    await orders.record_order(
        database, orders.OrderInput("o-1", "cust-1", lines(("A", 3, "33.33")))
    )  # 99.99 -> 99 points

    first = await orders.refund_order(database, orders.RefundInput("o-1", "r-1", amount="33.33"))
    second = await orders.refund_order(
        database, orders.RefundInput("o-1", "r-2", lines=[orders.RefundLineInput("A", 2)])
    )

    assert first.points_reversed == 33  # 99 points x 33.33 / 99.99
    assert first.points_reversed + second.points_reversed == 99
    member = await Member.get(external_id="cust-1")
    assert member.balance == 0 and member.lifetime_spend_cents == 0
    assert await check.violations() == []


async def test_refund_replay_and_overrefund(database):
    await enroll()
    await order(database, "o-1", amount="50.00")
    await orders.refund_order(database, orders.RefundInput("o-1", "r-1", amount="20.00"))

    again = await orders.refund_order(database, orders.RefundInput("o-1", "r-1", amount="20.00"))
    assert again.replayed and again.points_reversed == 20

    with pytest.raises(LoyaltyError) as raised:
        await orders.refund_order(database, orders.RefundInput("o-1", "r-2", amount="30.01"))
    assert raised.value.code == ErrorCode.REFUND_EXCEEDS_ORDER
    assert (await Member.get(external_id="cust-1")).balance == 30


async def test_refund_after_spending_records_a_shortfall(database):
    member = await enroll()
    await order(database, "o-1", amount="100.00")
    await adjust.adjust_points(member.id, -80, "spent at the till")

    result = await orders.refund_order(database, orders.RefundInput("o-1", "r-1", amount="100.00"))

    assert (result.points_reversed, result.shortfall) == (20, 80)
    assert (await Member.get(id=member.id)).balance == 0
    assert await check.violations() == []


async def test_concurrent_refunds_never_exceed_the_order(database):
    await enroll()
    await order(database, "o-1", amount="100.00")

    results = await asyncio.gather(
        *(
            orders.refund_order(database, orders.RefundInput("o-1", f"r-{i}", amount="30.00"))
            for i in range(10)
        ),
        return_exceptions=True,
    )

    done = [r for r in results if isinstance(r, orders.RefundResult)]
    assert len(done) == 3
    assert all(isinstance(r, LoyaltyError) for r in results if r not in done)
    assert (await Member.get(external_id="cust-1")).balance == 10
    assert await check.violations() == []


async def test_preview_equals_what_the_order_earns(database):
    await enroll()
    cart = lines(("A", 3, "19.99"), ("B", 2, "0.49"))

    preview = await orders.preview(database, cart, discount="1.50")
    result = await orders.record_order(
        database, orders.OrderInput("o-1", "cust-1", cart, discount="1.50")
    )

    assert preview.points == result.points_awarded == 59
    assert sum(line.points for line in preview.lines) == preview.points
