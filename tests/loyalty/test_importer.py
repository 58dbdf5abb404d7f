"""The Complete Journey import: the data set's counts, points by the earning rule, reruns."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest

from loyalty import members, orders
from loyalty.ledger import check, keys
from loyalty.ops import importer
from loyalty.programme import earning
from loyalty.settings import Settings
from models import LedgerEntry, Lot, Member, Order, OrderLine, Product

HOUSEHOLDS = 3
NOW = datetime(2026, 6, 1, 15, 30, tzinfo=UTC)
IMPORT_DAY = datetime(2026, 6, 1, tzinfo=UTC)


@cache
def data_set_lines() -> pd.DataFrame:
    """The kept lines of the first HOUSEHOLDS households, priced by the importer's rule."""
    transactions, _ = importer.load_tables()
    first = np.sort(transactions["household_id"].unique())[:HOUSEHOLDS]
    lines = transactions[
        transactions["household_id"].isin(first)
        & (transactions["quantity"] > 0)
        & (transactions["sales_value"] > 0)
    ].copy()
    quantity, unit, total = importer.line_prices(
        lines["quantity"].to_numpy(), lines["sales_value"].to_numpy()
    )
    lines["q"], lines["unit"], lines["total"] = quantity, unit, total
    return lines


def shift() -> timedelta:
    transactions, _ = importer.load_tables()
    return importer.time_shift(transactions, NOW)


def basket_lines(lines: pd.DataFrame) -> list[earning.Line]:
    return [
        earning.Line(str(product), int(q), int(unit), None, None)
        for product, q, unit in zip(lines["product_id"], lines["q"], lines["unit"], strict=True)
    ]


def expected_balances(settings: Settings) -> dict[str, int]:
    """What earning.compute gives each household's baskets, summed per member."""
    balances: dict[str, int] = defaultdict(int)
    for (household, _basket), lines in data_set_lines().groupby(["household_id", "basket_id"]):
        balances[f"cj-{household}"] += earning.compute(basket_lines(lines), 0, settings).points
    return dict(balances)


async def run(settings: Settings) -> importer.ImportStats:
    return await importer.import_completejourney(
        HOUSEHOLDS, settings=settings, progress=False, now=NOW
    )


async def snapshot() -> dict[str, Any]:
    return {
        "members": sorted(
            await Member.all().values_list(
                "external_id", "balance", "lifetime_points", "lifetime_spend_cents", "referral_code"
            )
        ),
        "orders": await Order.all().count(),
        "lines": await OrderLine.all().count(),
        "entries": await LedgerEntry.all().count(),
        "lots": await Lot.all().count(),
        "products": await Product.all().count(),
    }


def test_a_line_keeps_its_quantity_only_when_its_total_divides_by_it():
    quantity, unit, total = importer.line_prices(
        np.array([2, 2, 3, 9000]), np.array([4.00, 3.99, 0.99, 20.06])
    )

    assert quantity.tolist() == [2, 1, 3, 1]
    assert unit.tolist() == [200, 399, 33, 2006]
    assert total.tolist() == [400, 399, 99, 2006]
    assert (quantity * unit == total).all()


async def test_import_matches_the_data_set_and_earns_by_the_rule(database):
    lines = data_set_lines()

    stats = await run(database)

    assert (stats.households, stats.members) == (HOUSEHOLDS, HOUSEHOLDS)
    assert stats.orders == await Order.all().count() == lines["basket_id"].nunique()
    assert stats.lines == await OrderLine.all().count() == len(lines)
    balances = dict(await Member.all().values_list("external_id", "balance"))
    assert balances == expected_balances(database)
    assert stats.points == sum(balances.values())
    spend = lines.groupby("basket_id")["total"].sum()
    stored = dict(await Order.all().values_list("external_id", "subtotal_cents"))
    assert stored == {f"cj-{basket}": int(cents) for basket, cents in spend.items()}
    assert await check.violations() == []


async def test_each_order_is_credited_once_under_its_order_key(database):
    await run(database)

    credited = await Order.filter(points_awarded__gt=0).values_list("external_id", "placed_at")
    entries = await LedgerEntry.all().values_list("idempotency_key", "kind", "points", "expires_at")
    lots = await Lot.all().values_list("points", "remaining")
    assert sorted(key for key, *_ in entries) == sorted(keys.order(e) for e, _ in credited)
    assert {kind for _, kind, _, _ in entries} == {"earn_order"}
    placed = {keys.order(e): at for e, at in credited}
    assert all(expires == placed[key] + timedelta(days=365) for key, _, _, expires in entries)
    assert all(points == remaining for points, remaining in lots)
    member = await Member.get(external_id="cj-1")
    last = await Order.filter(member_id=member.id).order_by("-placed_at").first()
    assert last is not None and member.last_order_at == last.placed_at
    spent = await Order.filter(member_id=member.id).values_list("eligible_cents", flat=True)
    assert member.lifetime_spend_cents == sum(spent)
    assert member.email == "household-1@completejourney.example"


async def test_the_data_set_ends_at_the_start_of_the_import_day(database):
    transactions, _ = importer.load_tables()
    lines = data_set_lines()

    await run(database)

    last = transactions["transaction_timestamp"].max().to_pydatetime().replace(tzinfo=UTC)
    assert last + shift() == IMPORT_DAY
    first = lines.iloc[0]
    order = await Order.get(external_id=f"cj-{first['basket_id']}")
    raw = first["transaction_timestamp"].to_pydatetime().replace(tzinfo=UTC)
    assert order.placed_at == raw + shift()
    assert await Order.filter(placed_at__gt=IMPORT_DAY).count() == 0


async def test_a_second_import_changes_nothing(database):
    await run(database)
    before = await snapshot()

    again = await run(database)

    assert [again.members, again.orders, again.lines, again.points, again.products] == [0] * 5
    assert await snapshot() == before
    assert await check.violations() == []


async def record_first_basket(settings: Settings) -> orders.OrderResult:
    """recordOrder for the data set's first basket, as the shop would have sent it."""
    lines = data_set_lines()
    household, basket_id = int(lines["household_id"].iloc[0]), int(lines["basket_id"].iloc[0])
    basket = lines[lines["basket_id"] == basket_id]
    placed = basket["transaction_timestamp"].iloc[0].to_pydatetime().replace(tzinfo=UTC)
    await members.enroll(
        members.EnrollInput(f"cj-{household}", f"h{household}@example.com"), settings
    )
    return await orders.record_order(
        settings,
        orders.OrderInput(
            f"cj-{basket_id}",
            f"cj-{household}",
            [
                earning.LineInput(line.sku, line.quantity, Decimal(line.unit_price_cents) / 100)
                for line in basket_lines(basket)
            ],
            placed_at=placed + shift(),
        ),
    )


async def assert_complete_and_credited_once(settings: Settings, external_id: str) -> None:
    baskets = data_set_lines()["basket_id"].nunique()
    key = keys.order(external_id)
    assert await LedgerEntry.filter(idempotency_key=key).count() == 1
    assert await Order.all().count() == baskets
    balances = dict(await Member.all().values_list("external_id", "balance"))
    assert balances == expected_balances(settings)
    assert await check.violations() == []


async def test_a_basket_recorded_before_is_skipped_and_not_credited_twice(database):
    recorded = await record_first_basket(database)

    stats = await run(database)

    assert stats.members == HOUSEHOLDS - 1
    assert stats.orders == data_set_lines()["basket_id"].nunique() - 1
    assert stats.points == sum(expected_balances(database).values()) - recorded.points_awarded
    await assert_complete_and_credited_once(database, recorded.order.external_id)


async def test_a_basket_recorded_meanwhile_rolls_the_chunk_back_and_redoes_it(
    database, monkeypatch
):
    recorded = await record_first_basket(database)
    imported = importer._imported
    calls: list[object] = []

    async def stale_at_first(model, *prefix):
        calls.append(model)
        return set() if len(calls) == 1 else await imported(model, *prefix)

    monkeypatch.setattr(importer, "_imported", stale_at_first)

    stats = await run(database)

    assert calls == [Order, Member, Order]  # the conflict made it look again
    assert stats.orders == data_set_lines()["basket_id"].nunique() - 1
    await assert_complete_and_credited_once(database, recorded.order.external_id)


async def test_a_crash_leaves_whole_households_and_a_rerun_completes_them(database, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_HOUSEHOLDS", 1)
    write_chunk = importer._write_chunk

    async def crash_on_second_household(conn, settings, chunk):
        stats = await write_chunk(conn, settings, chunk)
        if chunk.members[0][0] == "cj-2":
            raise RuntimeError("power cut")
        return stats

    monkeypatch.setattr(importer, "_write_chunk", crash_on_second_household)
    with pytest.raises(RuntimeError, match="power cut"):
        await run(database)

    assert await Member.all().values_list("external_id", flat=True) == ["cj-1"]
    assert await check.violations() == []
    monkeypatch.setattr(importer, "_write_chunk", write_chunk)
    stats = await run(database)

    assert stats.members == HOUSEHOLDS - 1
    assert await Order.all().count() == data_set_lines()["basket_id"].nunique()
    assert dict(await Member.all().values_list("external_id", "balance")) == expected_balances(
        database
    )
    assert await check.violations() == []


async def test_the_import_marks_non_product_departments_not_offerable(database):
    from recommend.data import offerable

    await run(database)

    _, products = importer.load_tables()
    info = products.drop_duplicates("product_id").set_index("product_id")
    stored = await Product.all().values_list("sku", "offerable")
    expected = {
        sku: offerable(info.at[int(sku), "department"], info.at[int(sku), "product_category"])
        if int(sku) in info.index
        else False
        for sku, _ in stored
    }
    assert dict(stored) == expected
    assert not all(ok for _, ok in stored), "the households bought no fuel or coupons"
