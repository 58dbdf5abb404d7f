"""Synthetic data at scale: the data set's households cloned with new ids and moved times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loyalty.ledger import check
from loyalty.ops import importer
from loyalty.settings import Settings
from models import LedgerEntry, Member, Order, OrderLine

HOUSEHOLDS = 3
NOW = datetime(2026, 6, 1, 15, 30, tzinfo=UTC)


async def clone(settings: Settings, members: int) -> importer.ImportStats:
    return await importer.import_synthetic(
        members, households=HOUSEHOLDS, settings=settings, progress=False, now=NOW
    )


async def test_k_clones_hold_k_times_the_households_with_distinct_ids(database):
    # the data set's own first households, once, as the reference
    real = await importer.import_completejourney(
        HOUSEHOLDS, settings=database, progress=False, now=NOW
    )

    stats = await clone(database, 2 * HOUSEHOLDS)

    external = await Member.filter(external_id__startswith="syn").values_list(
        "external_id", "balance"
    )
    assert len(external) == len({e for e, _ in external}) == 2 * HOUSEHOLDS
    assert {e.split("-")[0] for e, _ in external} == {"syn0", "syn1"}
    assert (stats.orders, stats.lines) == (2 * real.orders, 2 * real.lines)
    assert await Order.all().count() == 3 * real.orders
    assert await OrderLine.all().count() == 3 * real.lines
    # a clone earns what the household earned: the same baskets under the same rule
    balances = dict(await Member.all().values_list("external_id", "balance"))
    for household in [e.removeprefix("cj-") for e in balances if e.startswith("cj-")]:
        assert balances[f"syn0-{household}"] == balances[f"syn1-{household}"]
        assert balances[f"syn0-{household}"] == balances[f"cj-{household}"]
    assert await check.violations() == []


async def test_a_clone_lives_up_to_a_week_earlier_and_a_rerun_adds_nothing(database):
    await clone(database, 2 * HOUSEHOLDS)
    entries = await LedgerEntry.all().count()

    again = await clone(database, 2 * HOUSEHOLDS)

    assert (again.members, again.orders, again.lines, again.points) == (0, 0, 0, 0)
    assert await LedgerEntry.all().count() == entries
    placed = dict(await Order.all().values_list("external_id", "placed_at"))
    originals = [e.removeprefix("syn0-") for e in placed if e.startswith("syn0-")]
    moves = {placed[f"syn0-{b}"] - placed[f"syn1-{b}"] for b in originals}
    assert all(abs(move) < timedelta(days=7) for move in moves)
    assert len(moves) > 1  # households move by different amounts
    assert max(placed.values()) <= NOW


async def test_more_members_than_a_clone_adds_a_partial_clone(database):
    stats = await clone(database, HOUSEHOLDS + 1)

    assert stats.members == HOUSEHOLDS + 1
    assert await Member.filter(external_id__startswith="syn1-").count() == 1
    assert await check.violations() == []


async def test_bad_sizes_are_refused_and_write_nothing(database):
    assert await importer.main_synthetic(database, None, None) == 2
    assert await importer.main_synthetic(database, 2, 5) == 2
    assert await importer.main_synthetic(database, 0, None) == 2
    assert await Member.all().count() == 0
