"""GraphQL: statement, programReport, segment/segmentCsv, eventDeliveries, setMarketingOptOut."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from api.context import Role
from api.relay import encode_id
from loyalty import rewards
from loyalty.events import dispatch
from loyalty.members import reminders
from models import MarketingPreference, RewardKind
from tests.support import enroll, gql, gql_errors, order

pytestmark = pytest.mark.usefixtures("database")
NOW = datetime.now(UTC)

STATEMENT = """{ me { statement {
    balance pendingPoints pointsToNextReward expiringPoints rewardsRedeemed redeemedPoints
    redeemedValue tierId
    affordableRewards { name affordable } nextReward { name pointsMissing }
    expiringLots { points expiresAt } offers { kind reason product { sku } } } } }"""

REPORT = """query ($from: Date, $to: Date) { programReport(from: $from, to: $to) {
    membersEnrolled activeMembers orders revenue averageOrderValue repeatPurchaseRate
    purchaseFrequency pointsIssued pointsRedeemed pointsExpired redemptionRate breakage
    pointsOutstanding pointsLiability referralConversion periodStart periodEnd
    retention { month members retained retention months { monthsLater members share } }
    topRewards { name couponsIssued } donations { cause donations points value } } }"""

SEGMENT = """query ($filter: SegmentFilter, $first: Int, $after: String) {
    segment(filter: $filter, first: $first, after: $after) {
      edges { cursor node { member { externalId pointsBalance } orders spend recency frequency
                            monetary rfm atRisk lastOrderAt } }
      pageInfo { hasNextPage endCursor } } }"""

DELIVERIES = """query ($status: EventDeliveryStatus, $first: Int, $after: String) {
    eventDeliveries(status: $status, first: $first, after: $after) {
      edges { node { eventId kind memberId url status attempts lastError deliveredAt } }
      pageInfo { hasNextPage endCursor } } }"""

OPT_OUT = """mutation ($optOut: Boolean!, $memberId: ID) {
    setMarketingOptOut(optOut: $optOut, memberId: $memberId) {
      optOut member { externalId } userErrors { field message code } } }"""


async def test_a_member_reads_its_statement(database):
    member = await enroll()
    await order(database, "o-1", amount="60.00", placed_at=NOW - timedelta(days=350))
    for name, cost in (("small", 50), ("big", 100)):
        await rewards.create_reward(
            rewards.RewardInput(
                name=name, kind=RewardKind.FIXED_DISCOUNT, points_cost=cost, value=Decimal(5)
            )
        )

    data = await gql(database, STATEMENT, role=Role.MEMBER, member_id=member.id)

    statement = data["me"]["statement"]
    assert statement["balance"] == 60
    assert statement["affordableRewards"] == [{"name": "small", "affordable": True}]
    assert statement["nextReward"] == {"name": "big", "pointsMissing": 40}
    assert statement["pointsToNextReward"] == 40
    assert statement["expiringPoints"] == 60
    assert [lot["points"] for lot in statement["expiringLots"]] == [60]
    assert (statement["rewardsRedeemed"], statement["redeemedValue"], statement["tierId"]) == (
        0,
        "0.00",
        None,
    )
    assert statement["offers"] == [
        {"kind": "PRODUCT", "reason": "POPULAR", "product": {"sku": "SKU-1"}}
    ]


async def test_the_programme_report_for_a_period(database):
    await enroll("ann")
    await order(database, "o-1", "ann", "30.00", placed_at=NOW - timedelta(days=2))
    await order(database, "o-2", "ann", "10.00", placed_at=NOW - timedelta(days=1))
    today = NOW.date()

    data = await gql(database, REPORT, {"from": str(today - timedelta(days=7)), "to": str(today)})

    report = data["programReport"]
    assert (report["membersEnrolled"], report["activeMembers"], report["orders"]) == (1, 1, 2)
    assert (report["revenue"], report["averageOrderValue"]) == ("40.00", "20.00")
    assert (report["repeatPurchaseRate"], report["purchaseFrequency"]) == (1.0, 2.0)
    assert (report["pointsIssued"], report["pointsRedeemed"], report["pointsExpired"]) == (40, 0, 0)
    assert (report["redemptionRate"], report["breakage"]) == (0.0, 0.0)
    assert (report["pointsOutstanding"], report["pointsLiability"]) == (40, "0.40")
    assert report["referralConversion"] is None
    assert report["retention"] == [
        {
            "month": today.strftime("%Y-%m"),
            "members": 1,
            "retained": 0,
            "retention": 0.0,
            "months": [],
        }
    ]
    assert (report["topRewards"], report["donations"]) == ([], [])


@pytest.mark.parametrize("role", [Role.STOREFRONT, Role.MEMBER, Role.PUBLIC])
async def test_reports_segments_and_deliveries_are_for_admins_only(database, role):
    for query in (REPORT, SEGMENT, DELIVERIES, "{ segmentCsv }"):
        errors = await gql_errors(database, query, role=role, member_id=1)
        assert errors == ["not authorised for this operation"]


async def test_a_segment_pages_and_exports(database):
    for name, amount in (("ann", "10.00"), ("bob", "70.00"), ("cat", "90.00")):
        await enroll(name)
        await order(database, f"o-{name}", name, amount, placed_at=NOW - timedelta(days=3))
    variables = {"filter": {"minPoints": 50}, "first": 1}

    page = (await gql(database, SEGMENT, variables))["segment"]
    rest = (await gql(database, SEGMENT, {**variables, "after": page["pageInfo"]["endCursor"]}))[
        "segment"
    ]
    csv_text = (await gql(database, "{ segmentCsv(filter: {minPoints: 50, atRisk: false}) }"))[
        "segmentCsv"
    ]

    bob = page["edges"][0]["node"]
    assert bob["member"] == {"externalId": "bob", "pointsBalance": 70}
    assert (bob["orders"], bob["spend"], bob["rfm"], bob["atRisk"]) == (1, "70.00", 5, False)
    assert page["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["member"]["externalId"] for e in rest["edges"]] == ["cat"]
    assert rest["pageInfo"]["hasNextPage"] is False
    rows = csv.reader(io.StringIO(csv_text))
    assert [row[0] for row in rows] == ["external_id", "bob", "cat"]


async def test_admins_list_deliveries_by_status(database):
    member = await enroll()
    await order(database, "o-1", amount="5.00")
    await order(database, "o-2", amount="6.00")

    async def down_then_up(url: str, body: bytes, headers: dict[str, str]) -> int:
        return 500 if url.endswith("/down") else 200

    await dispatch.dispatch_once(
        database, urls=["https://a.example/up", "https://a.example/down"], send=down_then_up
    )

    delivered = (await gql(database, DELIVERIES, {"status": "DELIVERED"}))["eventDeliveries"]
    pending = (await gql(database, DELIVERIES, {"status": "PENDING", "first": 1}))[
        "eventDeliveries"
    ]
    assert [e["node"]["status"] for e in delivered["edges"]] == ["DELIVERED", "DELIVERED"]
    node = pending["edges"][0]["node"]
    assert (node["url"], node["attempts"], node["lastError"]) == (
        "https://a.example/down",
        1,
        "HTTP 500",
    )
    assert (node["kind"], node["memberId"]) == ("points_earned", encode_id("Member", member.id))
    assert pending["pageInfo"]["hasNextPage"] is True
    assert node["eventId"] in {e["node"]["eventId"] for e in delivered["edges"]}


async def test_a_member_opts_itself_out_and_an_admin_can_opt_anyone_back_in(database):
    member = await enroll()

    mine = await gql(database, OPT_OUT, {"optOut": True}, role=Role.MEMBER, member_id=member.id)
    assert mine["setMarketingOptOut"] == {
        "optOut": True,
        "member": {"externalId": "cust-1"},
        "userErrors": [],
    }
    assert await reminders.opted_out(member.id)

    admin = await gql(
        database, OPT_OUT, {"optOut": False, "memberId": encode_id("Member", member.id)}
    )
    assert admin["setMarketingOptOut"]["optOut"] is False
    assert not await reminders.opted_out(member.id)


async def test_a_member_cannot_opt_out_another_member(database):
    member = await enroll("ann")
    other = await enroll("bob")

    data = await gql(
        database,
        OPT_OUT,
        {"optOut": True, "memberId": encode_id("Member", other.id)},
        role=Role.MEMBER,
        member_id=member.id,
    )

    errors = data["setMarketingOptOut"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["memberId"], "MEMBER_NOT_FOUND")]
    assert await MarketingPreference.all().count() == 0


async def test_an_admin_must_name_the_member(database):
    data = await gql(database, OPT_OUT, {"optOut": True})

    errors = data["setMarketingOptOut"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["memberId"], "INVALID")]
    assert await MarketingPreference.all().count() == 0


async def test_the_storefront_cannot_change_marketing_consent(database):
    member = await enroll()

    errors = await gql_errors(
        database,
        OPT_OUT,
        {"optOut": True, "memberId": encode_id("Member", member.id)},
        role=Role.STOREFRONT,
    )

    assert errors == ["not authorised for this operation"]
