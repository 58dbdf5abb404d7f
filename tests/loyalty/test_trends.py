"""The monthly series add up to the programme report's figures, with no holes in the months."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from loyalty.ledger.adjust import adjust_points
from loyalty.members import search
from loyalty.reports import summary, trends
from tests.support import enroll, order


async def test_months_add_up_to_the_report(database):
    ann = await enroll("ann")
    await enroll("bob")
    # January and April orders: February and March have none but still appear.
    await order(
        database, "o-1", member_external_id="ann", placed_at=datetime(2026, 1, 10, tzinfo=UTC)
    )
    await order(
        database,
        "o-2",
        member_external_id="bob",
        amount="40.00",
        placed_at=datetime(2026, 4, 2, tzinfo=UTC),
    )
    await adjust_points(ann.id, -30, "correction", "k-1")
    now = datetime.now(UTC)

    months = await trends.monthly(database, now=now)
    report = await summary.program_report(database, now=now)

    labels = [m.month for m in months]
    assert labels[0] == "2026-01" and labels[1:4] == ["2026-02", "2026-03", "2026-04"]
    assert (months[1].orders, months[1].revenue_cents) == (0, 0)
    assert sum(m.orders for m in months) == report.orders == 2
    assert sum(m.revenue_cents for m in months) == report.revenue_cents
    assert sum(m.enrolled for m in months) == report.members_enrolled == 2
    assert sum(m.points_issued for m in months) == report.points_issued
    assert sum(m.points_redeemed for m in months) == report.points_redeemed
    assert months[-1].points_outstanding == report.points_outstanding == 110
    assert months[-1].liability == report.liability


async def test_points_count_in_the_month_they_were_posted(database):
    """Ledger entries are dated when posted (a back-dated order's points too): a period ending
    before them has nothing outstanding, one holding them starts from what came before it."""
    today = datetime.now(UTC).date()
    first_of_month = today.replace(day=1)
    placed = datetime.combine(first_of_month - timedelta(days=40), time(12), UTC)
    await enroll("ann")
    await order(database, "o-1", member_external_id="ann", placed_at=placed)

    before = await trends.monthly(database, placed.date(), first_of_month - timedelta(days=1))
    await order(database, "o-2", member_external_id="ann", amount="5.00")
    current = await trends.monthly(database, first_of_month, today)

    assert before[0].month == f"{placed:%Y-%m}" and before[0].orders == 1
    assert all(m.points_issued == 0 and m.points_outstanding == 0 for m in before)
    assert [(m.points_issued, m.points_outstanding) for m in current][-1] == (105, 105)


async def test_member_search_by_shop_id_email_or_name(database):
    from loyalty import members

    await members.enroll(
        members.EnrollInput(external_id="c-1", email="ann@shop.example", name="Ann Lee"), database
    )
    await members.enroll(
        members.EnrollInput(external_id="c-12", email="zed@shop.example", name="Zed"), database
    )

    assert [m.external_id for m in await search("c-1")] == ["c-1", "c-12"]
    assert [m.external_id for m in await search("c-12")] == ["c-12"]
    assert [m.external_id for m in await search("ANN@")] == ["c-1"]
    assert [m.external_id for m in await search("lee")] == ["c-1"]
    assert await search("nobody") == []
