"""A campaign that holds out a share of its members, and the report of what it added."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.assignment import held_out
from models import Campaign, Order
from tests.support import enroll, gql, order

pytestmark = pytest.mark.usefixtures("database")
NOW = datetime.now(UTC).replace(microsecond=0)
SAVE = """mutation($input: CampaignInput!) { saveCampaign(input: $input) {
  campaign { id holdoutPercent } userErrors { field code } } }"""
REPORT = """query($id: ID!) { campaignReport(id: $id) {
  name holdoutPercent
  treated { members orders revenue points } holdout { members orders revenue points }
  incrementalRevenue { total low high perMember { method } }
  incrementalPoints { total low high perMember { difference method } } } }"""


def campaign(holdout: int) -> dict[str, object]:
    return {
        "name": "Double points",
        "startsAt": (NOW - timedelta(days=1)).isoformat(),
        "endsAt": (NOW + timedelta(days=6)).isoformat(),
        "multiplier": "2",
        "holdoutPercent": holdout,
    }


async def test_held_out_members_earn_without_the_bonus_and_the_report_counts_what_it_added(
    database,
):
    # given a double-points campaign holding out half of its members
    for i in range(20):
        await enroll(f"c-{i}")
    saved = (await gql(database, SAVE, {"input": campaign(50)}))["saveCampaign"]
    assert saved["userErrors"] == [] and saved["campaign"]["holdoutPercent"] == 50
    row = await Campaign.get()

    # when every member orders the same
    for i in range(20):
        await order(database, f"o-{i}", member_external_id=f"c-{i}", amount="10.00")

    # then held-out members earned base points only, the others double
    awarded = {o.member_id: o.points_awarded for o in await Order.all()}
    out = {m for m in awarded if held_out(row.id, m, 50)}
    assert 0 < len(out) < 20
    assert {awarded[m] for m in out} == {10}
    assert {awarded[m] for m in awarded if m not in out} == {20}
    report = (await gql(database, REPORT, {"id": saved["campaign"]["id"]}))["campaignReport"]
    treated, holdout = report["treated"], report["holdout"]
    assert (treated["members"], holdout["members"]) == (20 - len(out), len(out))
    assert (treated["points"], holdout["points"]) == (20 * treated["members"], 10 * len(out))
    points = report["incrementalPoints"]
    assert points["total"] == pytest.approx(10 * treated["members"])
    assert points["perMember"]["difference"] == pytest.approx(10.0)
    assert report["incrementalRevenue"]["total"] == pytest.approx(0.0)


async def test_a_holdout_above_the_limit_is_refused(database):
    data = await gql(database, SAVE, {"input": campaign(95)})

    assert data["saveCampaign"]["userErrors"] == [{"field": ["holdoutPercent"], "code": "INVALID"}]
    assert await Campaign.all().count() == 0
