"""GraphQL: enrolment, tokens, me, members, adjustments, auth roles, userErrors."""

from __future__ import annotations

import pytest

from api.context import Role
from api.relay import encode_id
from models import LedgerEntry, Member
from tests.support import enroll, gql, gql_errors, order

pytestmark = pytest.mark.usefixtures("database")

ENROLL = """
mutation($input: EnrollMemberInput!) {
  enrollMember(input: $input) {
    member { id externalId email pointsBalance referralCode }
    userErrors { field message code }
  }
}"""
ME = """{ me { externalId pointsBalance lifetimePoints lifetimeSpend
          transactions(first: 2) { edges { cursor node { kind points balanceAfter } }
                                   pageInfo { hasNextPage endCursor } } } }"""
MEMBER = "query($id: ID, $ext: String) { member(id: $id, externalId: $ext) { externalId } }"
ADJUST = """
mutation($input: AdjustPointsInput!) {
  adjustPoints(input: $input) {
    transaction { kind points balanceAfter } member { pointsBalance }
    userErrors { field code }
  }
}"""


async def test_enroll_then_duplicate_is_a_user_error(database):
    variables = {"input": {"externalId": "c-1", "email": "ann@example.com", "name": "Ann"}}

    first = await gql(database, ENROLL, variables, role=Role.STOREFRONT)
    again = await gql(database, ENROLL, variables, role=Role.STOREFRONT)

    assert first["enrollMember"]["member"]["pointsBalance"] == 0
    assert len(first["enrollMember"]["member"]["referralCode"]) == 8
    assert again["enrollMember"] == {
        "member": None,
        "userErrors": [
            {
                "field": ["externalId"],
                "message": "a member with this externalId is already enrolled",
                "code": "ALREADY_ENROLLED",
            }
        ],
    }
    assert await Member.all().count() == 1


async def test_bad_email_is_a_user_error(database):
    data = await gql(
        database, ENROLL, {"input": {"externalId": "c-1", "email": "nope"}}, role=Role.STOREFRONT
    )
    assert [e["code"] for e in data["enrollMember"]["userErrors"]] == ["INVALID_EMAIL"]
    assert await Member.all().count() == 0


async def test_me_pages_through_transactions(database):
    member = await enroll()
    for i in range(3):
        await order(database, f"o-{i}", amount=f"{10 * (i + 1)}.00")

    page = (await gql(database, ME, role=Role.MEMBER, member_id=member.id))["me"]

    assert page["pointsBalance"] == 60 and page["lifetimeSpend"] == "60.00"
    edges = page["transactions"]["edges"]
    assert [e["node"]["points"] for e in edges] == [30, 20]
    assert page["transactions"]["pageInfo"]["hasNextPage"] is True
    rest = await gql(
        database,
        "query($after: String) { me { transactions(first: 2, after: $after) { edges { node { points } } pageInfo { hasNextPage } } } }",
        {"after": page["transactions"]["pageInfo"]["endCursor"]},
        role=Role.MEMBER,
        member_id=member.id,
    )
    assert rest["me"]["transactions"]["edges"] == [{"node": {"points": 10}}]
    assert rest["me"]["transactions"]["pageInfo"]["hasNextPage"] is False


async def test_first_out_of_range_is_refused(database):
    member = await enroll()
    errors = await gql_errors(
        database,
        "{ me { transactions(first: 101) { edges { cursor } } } }",
        role=Role.MEMBER,
        member_id=member.id,
    )
    assert errors == ["first must be between 1 and 100"]


async def test_member_lookup_by_id_and_external_id(database):
    member = await enroll("c-1")
    by_id = await gql(
        database, MEMBER, {"id": encode_id("Member", member.id)}, role=Role.STOREFRONT
    )
    by_ext = await gql(database, MEMBER, {"ext": "c-1"}, role=Role.STOREFRONT)
    unknown = await gql(database, MEMBER, {"ext": "c-404"}, role=Role.STOREFRONT)
    malformed = await gql(database, MEMBER, {"id": "not-an-id"}, role=Role.STOREFRONT)

    assert by_id["member"] == by_ext["member"] == {"externalId": "c-1"}
    assert unknown["member"] is None and malformed["member"] is None


@pytest.mark.parametrize("role", [Role.MEMBER, Role.PUBLIC])
async def test_member_lookup_is_staff_only(database, role):
    await enroll("c-1")
    errors = await gql_errors(database, MEMBER, {"ext": "c-1"}, role=role, member_id=1)
    assert errors == ["not authorised for this operation"]


async def test_me_for_a_member_whose_row_is_gone_is_null(database):
    assert (await gql(database, "{ me { id } }", role=Role.MEMBER, member_id=999))["me"] is None


@pytest.mark.parametrize("role", [Role.STOREFRONT, Role.MEMBER, Role.PUBLIC])
async def test_adjust_points_is_admin_only(database, role):
    member = await enroll()
    variables = {"input": {"memberId": encode_id("Member", member.id), "points": 5, "reason": "x"}}
    errors = await gql_errors(database, ADJUST, variables, role=role, member_id=member.id)
    assert errors == ["not authorised for this operation"]
    assert await LedgerEntry.all().count() == 0


async def test_adjust_points_up_and_down(database):
    member = await enroll()
    member_id = encode_id("Member", member.id)

    up = await gql(
        database, ADJUST, {"input": {"memberId": member_id, "points": 50, "reason": "goodwill"}}
    )
    too_much = await gql(
        database, ADJUST, {"input": {"memberId": member_id, "points": -60, "reason": "fix"}}
    )
    down = await gql(
        database, ADJUST, {"input": {"memberId": member_id, "points": -20, "reason": "fix"}}
    )
    bad_id = await gql(database, ADJUST, {"input": {"memberId": "zzz", "points": 1, "reason": "x"}})

    assert up["adjustPoints"]["transaction"] == {"kind": "ADJUST", "points": 50, "balanceAfter": 50}
    assert too_much["adjustPoints"]["userErrors"] == [
        {"field": ["points"], "code": "INSUFFICIENT_POINTS"}
    ]
    assert down["adjustPoints"]["member"] == {"pointsBalance": 30}
    assert bad_id["adjustPoints"]["userErrors"] == [{"field": ["memberId"], "code": "INVALID_ID"}]
    assert await LedgerEntry.all().count() == 2


async def test_members_list_is_admin_only_and_paged(database):
    for i in range(3):
        await enroll(f"c-{i}")
    query = "{ members(first: 2) { edges { node { externalId } } pageInfo { hasNextPage } } }"

    data = await gql(database, query)
    errors = await gql_errors(database, query, role=Role.STOREFRONT)

    assert [e["node"]["externalId"] for e in data["members"]["edges"]] == ["c-0", "c-1"]
    assert data["members"]["pageInfo"]["hasNextPage"] is True
    assert errors == ["not authorised for this operation"]


async def test_issue_token_for_unknown_member_is_a_user_error(database):
    data = await gql(
        database,
        'mutation { issueMemberToken(externalId: "nobody") { token userErrors { field code } } }',
        role=Role.STOREFRONT,
    )
    assert data["issueMemberToken"] == {
        "token": None,
        "userErrors": [{"field": ["externalId"], "code": "MEMBER_NOT_FOUND"}],
    }


async def test_program_is_public(database):
    data = await gql(
        database, "{ program { name pointsName pointsPerCurrencyUnit } }", role=Role.PUBLIC
    )
    assert data["program"] == {
        "name": "Loyalty",
        "pointsName": "points",
        "pointsPerCurrencyUnit": "1",
    }


async def test_program_shows_the_active_configuration_as_saved(database):
    from datetime import UTC, datetime, timedelta

    from loyalty.programme import admin
    from models import TierBasis, TierWindow

    now = datetime.now(UTC)
    query = """{ program { tiers { name } earningRules { name description }
        campaigns { name } plans { name } } }"""
    for name, threshold in (("Gold", 500), ("Silver", 100), ("Old", 50)):
        tier = await admin.save_tier(
            name=name, threshold=threshold, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
        )
    await admin.save_earning_rule(name="Mugs", sku="MUG", points_per_item=2)
    for name, starts, ends in (("later", 5, 9), ("ended", -9, -1), ("now", -1, 1)):
        await admin.save_campaign(
            name=name,
            starts_at=now + timedelta(days=starts),
            ends_at=now + timedelta(days=ends),
            fixed_points=5,
        )
    await admin.save_plan(name="Plus", fee_cents=500, period_days=30)
    await gql(database, query, role=Role.PUBLIC)  # the configuration read and kept
    await admin.save_tier(
        name="Old",
        threshold=50,
        basis=TierBasis.POINTS,
        window=TierWindow.LIFETIME,
        active=False,
        tier_id=tier.id,
    )
    await admin.save_plan(name="Plus", fee_cents=500, period_days=30, active=False)

    program = (await gql(database, query, role=Role.PUBLIC))["program"]

    assert program == {
        "tiers": [{"name": "Silver"}, {"name": "Gold"}],
        "earningRules": [
            {
                "name": "base",
                "description": "1 points per USD of the subtotal after discounts, shipping "
                "excluded, rounded down",
            },
            {"name": "Mugs", "description": "+ 2 per item on sku MUG"},
        ],
        "campaigns": [{"name": "now"}, {"name": "later"}],
        "plans": [],
    }


async def test_members_filtered_by_tier_and_points(database):
    from loyalty.programme import admin
    from models import TierBasis, TierWindow

    await admin.save_tier(
        name="Gold", threshold=100, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
    )
    for i, amount in enumerate(["150.00", "50.00", "120.00"]):
        await enroll(f"c-{i}")
        await order(database, f"o-{i}", f"c-{i}", amount=amount)
    query = """query($f: SegmentFilter) { members(first: 10, filter: $f) {
      edges { node { externalId } } } }"""

    gold = await gql(database, query, {"f": {"tier": "Gold"}})
    small = await gql(database, query, {"f": {"maxPoints": 100}})

    assert [e["node"]["externalId"] for e in gold["members"]["edges"]] == ["c-0", "c-2"]
    assert [e["node"]["externalId"] for e in small["members"]["edges"]] == ["c-1"]
