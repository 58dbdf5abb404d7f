"""Who may do what: every query and mutation, with every role, through the HTTP app.

The matrix follows API.md. The admin key may do everything a key can (``me`` and
``redeemReward`` need a member token, so they refuse keys). The storefront key enrols, issues
member tokens, records orders and refunds, reads a member, previews points, validates, uses and
cancels coupons and reads the catalogue; it neither adjusts points, lists members, edits the
catalogue nor reads reports. A member token reads ``me``, previews points, redeems and cancels
its own coupons. No token reads ``program`` and ``rewards`` only.

A refused operation answers "not authorised for this operation" and changes nothing in the
database. A member's token never reaches another member's data: the answer is the same as for
something that does not exist, and nothing changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import graphql
import httpx
import pytest
from tortoise import Tortoise

from api.app import create_app
from api.relay import encode_id
from api.schema import build_schema
from loyalty import rewards
from loyalty.members import tokens
from loyalty.offers import feedback
from loyalty.settings import Settings
from models import RewardKind
from tests.support import ADMIN_KEY, SIGNING_SECRET, STOREFRONT_KEY, enroll, order

pytestmark = pytest.mark.usefixtures("database")

ADMIN, STOREFRONT, MEMBER, PUBLIC = "admin", "storefront", "member", "public"
ROLES = (ADMIN, STOREFRONT, MEMBER, PUBLIC)
STAFF = frozenset({ADMIN, STOREFRONT})
REFUSED = ["not authorised for this operation"]
LINES = [{"sku": "TEA", "quantity": 1, "unitPrice": "10.00"}]


@dataclass(frozen=True)
class Targets:
    """Member B's things; every operation aims at them (the member token is A's)."""

    member_b_pk: int
    reward: str
    coupon_b: str
    plan: str

    @property
    def member_b(self) -> str:
        return encode_id("Member", self.member_b_pk)


@dataclass(frozen=True)
class Operation:
    document: str
    allowed: frozenset[str]
    variables: Callable[[Targets], dict[str, Any]] = lambda _: {}
    hidden: frozenset[str] = field(default_factory=frozenset)
    """Roles that may call it but must get B's thing answered as if it did not exist."""
    hidden_code: str = "NOT_FOUND"


OPERATIONS: dict[str, Operation] = {
    # queries
    "program": Operation("{ program { name } }", frozenset(ROLES)),
    "rewards": Operation("{ rewards { edges { node { name } } } }", frozenset(ROLES)),
    "me": Operation("{ me { externalId } }", frozenset({MEMBER})),
    "member": Operation(
        "query($id: ID) { member(id: $id) { externalId pointsBalance } }",
        STAFF,
        lambda t: {"id": t.member_b},
    ),
    "members": Operation("{ members { edges { node { externalId } } } }", frozenset({ADMIN})),
    "previewPoints": Operation(
        "query($input: PreviewPointsInput!) { previewPoints(input: $input) { points } }",
        STAFF | {MEMBER},
        lambda _: {"input": {"lines": LINES}},
    ),
    "validateCoupon": Operation(
        "query($code: String!) { validateCoupon(code: $code) { valid } }",
        STAFF,
        lambda t: {"code": t.coupon_b},
    ),
    "donationTotals": Operation("{ donationTotals { cause } }", frozenset({ADMIN})),
    # offers, experiments and campaign holdouts (admin), offer events (member)
    "modelVersions": Operation("{ modelVersions { id } }", frozenset({ADMIN})),
    "experiments": Operation("{ experiments { id } }", frozenset({ADMIN})),
    "experimentReport": Operation(
        "query($id: ID!) { experimentReport(id: $id) { name } }",
        frozenset({ADMIN}),
        lambda _: {"id": encode_id("Experiment", 1)},
    ),
    "campaignReport": Operation(
        "query($id: ID!) { campaignReport(id: $id) { name } }",
        frozenset({ADMIN}),
        lambda _: {"id": encode_id("Campaign", 1)},
    ),
    "nonOfferableCategories": Operation("{ nonOfferableCategories }", frozenset({ADMIN})),
    "recordOfferEvents": Operation(
        "mutation($input: RecordOfferEventsInput!) { recordOfferEvents(input: $input) "
        "{ recorded userErrors { code } } }",
        frozenset({MEMBER}),
        lambda t: {
            "input": {
                "events": [
                    {
                        "offerId": feedback.encode(
                            feedback.OfferRef(t.member_b_pk, 0, 0, "P", 1), SIGNING_SECRET
                        ),
                        "kind": "IMPRESSION",
                        "at": "2026-01-01T00:00:00+00:00",
                    }
                ]
            }
        },
        hidden=frozenset({MEMBER}),
    ),
    "createExperiment": Operation(
        "mutation($input: CreateExperimentInput!) { createExperiment(input: $input) "
        "{ experiment { id } userErrors { code } } }",
        frozenset({ADMIN}),
        lambda _: {
            "input": {
                "name": "holdout test",
                "startsAt": "2030-03-01T00:00:00+00:00",
                "endsAt": "2030-04-01T00:00:00+00:00",
                "arms": [
                    {"name": "control", "weight": 1, "source": "POPULAR"},
                    {"name": "holdout", "weight": 1, "source": "NONE"},
                ],
            }
        },
    ),
    "setProductOfferable": Operation(
        "mutation($input: SetProductOfferableInput!) { setProductOfferable(input: $input) "
        "{ product { sku } userErrors { code } } }",
        frozenset({ADMIN}),
        lambda _: {"input": {"sku": "SKU-1", "offerable": False}},
    ),
    "setCategoryOfferable": Operation(
        "mutation($input: SetCategoryOfferableInput!) { setCategoryOfferable(input: $input) "
        "{ nonOfferableCategories userErrors { code } } }",
        frozenset({ADMIN}),
        lambda _: {"input": {"category": "fuel", "offerable": False}},
    ),
    "programRules": Operation("{ programRules { tiers { name } } }", frozenset({ADMIN})),
    # mutations
    "enrollMember": Operation(
        "mutation($input: EnrollMemberInput!) { enrollMember(input: $input) "
        "{ member { externalId } userErrors { code } } }",
        STAFF,
        lambda _: {"input": {"externalId": "cust-new", "email": "new@example.com"}},
    ),
    "issueMemberToken": Operation(
        "mutation($ext: String!) { issueMemberToken(externalId: $ext) "
        "{ token userErrors { code } } }",
        STAFF,
        lambda _: {"ext": "cust-b"},
    ),
    "adjustPoints": Operation(
        "mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) "
        "{ member { pointsBalance } userErrors { code } } }",
        frozenset({ADMIN}),
        lambda t: {"input": {"memberId": t.member_b, "points": 5, "reason": "goodwill"}},
    ),
    "recordOrder": Operation(
        "mutation($input: RecordOrderInput!) { recordOrder(input: $input) "
        "{ pointsAwarded userErrors { code } } }",
        STAFF,
        lambda _: {"input": {"externalId": "o-new", "memberExternalId": "cust-b", "lines": LINES}},
    ),
    "refundOrder": Operation(
        "mutation($input: RefundOrderInput!) { refundOrder(input: $input) "
        "{ pointsReversed userErrors { code } } }",
        STAFF,
        lambda _: {"input": {"orderExternalId": "o-b", "externalId": "r-1", "amount": "5.00"}},
    ),
    "createReward": Operation(
        "mutation($input: CreateRewardInput!) { createReward(input: $input) "
        "{ reward { name } userErrors { code } } }",
        frozenset({ADMIN}),
        lambda _: {
            "input": {"name": "Cap", "kind": "FIXED_DISCOUNT", "pointsCost": 5, "value": "1.00"}
        },
    ),
    "updateReward": Operation(
        "mutation($input: UpdateRewardInput!) { updateReward(input: $input) "
        "{ reward { pointsCost } userErrors { code } } }",
        frozenset({ADMIN}),
        lambda t: {"input": {"rewardId": t.reward, "pointsCost": 1}},
    ),
    "redeemReward": Operation(
        "mutation($input: RedeemRewardInput!) { redeemReward(input: $input) "
        "{ coupon { status } userErrors { code } } }",
        frozenset({MEMBER}),
        lambda t: {"input": {"rewardId": t.reward}},
    ),
    "useCoupon": Operation(
        "mutation($input: UseCouponInput!) { useCoupon(input: $input) "
        "{ coupon { status } userErrors { code } } }",
        STAFF,
        lambda t: {"input": {"code": t.coupon_b, "orderExternalId": "o-b"}},
    ),
    "cancelCoupon": Operation(
        "mutation($input: CancelCouponInput!) { cancelCoupon(input: $input) "
        "{ coupon { status } userErrors { code } } }",
        STAFF,
        lambda t: {"input": {"code": t.coupon_b}},
        hidden=frozenset({MEMBER}),
        hidden_code="COUPON_NOT_FOUND",
    ),
    # reports, segments and outgoing events (admin)
    "programReport": Operation("{ programReport { membersTotal } }", frozenset({ADMIN})),
    "segment": Operation("{ segment { edges { cursor } } }", frozenset({ADMIN})),
    "segmentCsv": Operation("{ segmentCsv }", frozenset({ADMIN})),
    "eventDeliveries": Operation("{ eventDeliveries { edges { cursor } } }", frozenset({ADMIN})),
    # shop platforms' inbox (admin); the delivery does not exist, so the payload is empty
    "webhookInbox": Operation("{ webhookInbox { edges { cursor } } }", frozenset({ADMIN})),
    "retryEventDelivery": Operation(
        "mutation($id: ID!) { retryEventDelivery(id: $id) { delivery { status } } }",
        frozenset({ADMIN}),
        lambda _: {"id": encode_id("EventDelivery", 1)},
    ),
    "replayWebhook": Operation(
        "mutation($id: ID!) { replayWebhook(id: $id) { delivery { status } } }",
        frozenset({ADMIN}),
        lambda _: {"id": encode_id("InboxDelivery", 1)},
    ),
    # programme configuration (admin)
    "saveEarningRule": Operation(
        "mutation($input: EarningRuleInput!) { saveEarningRule(input: $input) "
        "{ userErrors { code } } }",
        frozenset({ADMIN}),
        lambda _: {"input": {"name": "Tea x2", "sku": "SKU-1", "multiplier": "2"}},
    ),
    "saveCampaign": Operation(
        "mutation($input: CampaignInput!) { saveCampaign(input: $input) { userErrors { code } } }",
        frozenset({ADMIN}),
        lambda _: {
            "input": {
                "name": "Spring",
                "startsAt": "2030-03-01T00:00:00+00:00",
                "endsAt": "2030-04-01T00:00:00+00:00",
                "multiplier": "2",
            }
        },
    ),
    "saveTier": Operation(
        "mutation($input: TierInput!) { saveTier(input: $input) { userErrors { code } } }",
        frozenset({ADMIN}),
        lambda _: {"input": {"name": "Gold", "threshold": 1000}},
    ),
    "saveActionRule": Operation(
        "mutation($input: ActionRuleInput!) { saveActionRule(input: $input) "
        "{ userErrors { code } } }",
        frozenset({ADMIN}),
        lambda _: {"input": {"action": "NEWSLETTER", "points": 5}},
    ),
    "setEarningCap": Operation(
        "mutation { setEarningCap(period: ORDER, maxPoints: 1000) { userErrors { code } } }",
        frozenset({ADMIN}),
    ),
    "savePlan": Operation(
        "mutation($input: PlanInput!) { savePlan(input: $input) { userErrors { code } } }",
        frozenset({ADMIN}),
        lambda _: {"input": {"name": "Plus", "fee": "9.00", "periodDays": 30}},
    ),
    "subscribeMember": Operation(
        "mutation($member: ID!, $plan: ID!) { subscribeMember(memberId: $member, planId: $plan, "
        'startsAt: "2030-01-01T00:00:00+00:00") { userErrors { code } } }',
        frozenset({ADMIN}),
        lambda t: {"member": t.member_b, "plan": t.plan},
    ),
    # member activity
    "recordAction": Operation(
        "mutation($input: RecordActionInput!) { recordAction(input: $input) "
        "{ points userErrors { code } } }",
        STAFF,
        lambda _: {"input": {"memberExternalId": "cust-b", "action": "REVIEW", "reference": "r"}},
    ),
    "setMarketingOptOut": Operation(
        "mutation($member: ID) { setMarketingOptOut(optOut: true, memberId: $member) "
        "{ optOut userErrors { code } } }",
        frozenset({ADMIN}),
        lambda t: {"member": t.member_b},
        hidden=frozenset({MEMBER}),
        hidden_code="MEMBER_NOT_FOUND",
    ),
    # privacy and accountability (admin)
    "exportMember": Operation(
        "query($id: ID!) { exportMember(id: $id) }",
        frozenset({ADMIN}),
        lambda t: {"id": t.member_b},
    ),
    "auditLog": Operation("{ auditLog { edges { cursor } } }", frozenset({ADMIN})),
    "eraseMember": Operation(
        'mutation($id: ID!) { eraseMember(id: $id, reason: "asked") '
        "{ alreadyErased userErrors { code } } }",
        frozenset({ADMIN}),
        lambda t: {"id": t.member_b},
    ),
    "revokeMemberTokens": Operation(
        "mutation($id: ID!) { revokeMemberTokens(memberId: $id) "
        "{ tokenVersion userErrors { code } } }",
        frozenset({ADMIN}),
        lambda t: {"id": t.member_b},
    ),
}

SETUP = """mutation {
  saveActionRule(input: {action: REVIEW, points: 10}) { userErrors { code } }
  savePlan(input: {name: "Basic", fee: "5.00", periodDays: 30}) { plan { id } userErrors { code } }
  saveCampaign(input: {name: "Later", startsAt: "2031-01-01T00:00:00Z",
      endsAt: "2031-02-01T00:00:00Z", multiplier: "2", holdoutPercent: 10}) { userErrors { code } }
  createExperiment(input: {name: "Later", startsAt: "2031-01-01T00:00:00Z",
      endsAt: "2031-02-01T00:00:00Z", arms: [{name: "a", weight: 1, source: POPULAR},
      {name: "b", weight: 1, source: NONE}]}) { userErrors { code } }
}"""


@dataclass
class World:
    client: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    settings: Settings
    targets: Targets


@pytest.fixture
async def world(database: Settings) -> AsyncIterator[World]:
    """Members A and B with an order each, B holding a coupon; a client and a header per role."""
    a, b = await enroll("cust-a"), await enroll("cust-b")
    await order(database, "o-a", "cust-a", amount="20.00")
    await order(database, "o-b", "cust-b", amount="50.00")
    reward = await rewards.create_reward(
        rewards.RewardInput(
            name="Mug", kind=RewardKind.FIXED_DISCOUNT, points_cost=10, value=Decimal("5.00")
        )
    )
    redeemed = await rewards.redeem(b.id, reward.id)
    assert redeemed.coupon is not None
    token, _ = tokens.issue(a.id, database)
    headers = {
        ADMIN: {"Authorization": f"Bearer {ADMIN_KEY}"},
        STOREFRONT: {"Authorization": f"Bearer {STOREFRONT_KEY}"},
        MEMBER: {"Authorization": f"Bearer {token}"},
        PUBLIC: {},
    }
    app = create_app(database, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        world = World(client, headers, database, targets=None)  # type: ignore[arg-type]
        setup = await call(world, ADMIN, SETUP)
        assert messages(setup) == [] and "code" not in str(setup), setup
        world.targets = Targets(
            b.id,
            encode_id("Reward", reward.id),
            redeemed.coupon.code,
            setup["data"]["savePlan"]["plan"]["id"],
        )
        yield world


async def call(
    world: World, role: str, document: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await world.client.post(
        "/graphql",
        json={"query": document, "variables": variables or {}},
        headers=world.headers[role],
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def messages(result: dict[str, Any]) -> list[str]:
    return [error["message"] for error in result.get("errors") or []]


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table."""
    tables = {}
    for model in Tortoise.apps["models"].values():
        rows = await model.all().order_by(model._meta.pk_attr).values()
        tables[model._meta.db_table] = rows
    return tables


def test_the_matrix_covers_every_operation_in_the_schema():
    schema = graphql.build_schema(build_schema().as_str())
    assert schema.query_type is not None and schema.mutation_type is not None
    in_schema = {*schema.query_type.fields, *schema.mutation_type.fields}

    assert in_schema == set(OPERATIONS), (
        "add every new query or mutation to OPERATIONS with the roles API.md allows"
    )


def answer_for(world: World, name: str) -> tuple[str, dict[str, Any]]:
    operation = OPERATIONS[name]
    return operation.document, operation.variables(world.targets)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(OPERATIONS))
async def test_each_role_is_allowed_or_refused_as_api_md_says(world, name, role):
    operation = OPERATIONS[name]
    before = await snapshot()

    result = await call(world, role, *answer_for(world, name))

    if role in operation.hidden:
        assert messages(result) == []
        assert [e["code"] for e in result["data"][name]["userErrors"]] == [operation.hidden_code]
        assert await snapshot() == before
    elif role in operation.allowed:
        assert messages(result) == []
        payload = result["data"][name]
        assert payload is not None
        if isinstance(payload, dict) and "userErrors" in payload:
            assert payload["userErrors"] == []
    else:
        assert messages(result) == REFUSED
        assert result["data"] is None or result["data"] == {name: None}
        assert await snapshot() == before


async def test_me_answers_with_the_tokens_own_member_only(world):
    result = await call(
        world,
        MEMBER,
        "{ me { externalId pointsBalance transactions { edges { node { source } } } "
        "coupons { edges { node { code } } } } }",
    )

    assert messages(result) == []
    assert result["data"]["me"] == {
        "externalId": "cust-a",
        "pointsBalance": 20,
        "transactions": {"edges": [{"node": {"source": "order:o-a"}}]},
        "coupons": {"edges": []},
    }
    assert world.targets.coupon_b not in str(result)


@pytest.mark.parametrize("argument", ["id", "externalId"])
async def test_another_members_data_answers_as_if_it_did_not_exist(world, argument):
    kind = "ID" if argument == "id" else "String"
    other = world.targets.member_b if argument == "id" else "cust-b"
    missing = encode_id("Member", 999_999) if argument == "id" else "nobody"
    document = f"query($v: {kind}) {{ member({argument}: $v) {{ externalId pointsBalance }} }}"

    for_other = await call(world, MEMBER, document, {"v": other})
    for_missing = await call(world, MEMBER, document, {"v": missing})

    assert for_other == for_missing
    assert for_other["data"] == {"member": None}
    assert "cust-b" not in str(for_other)


async def test_a_member_cannot_list_members(world):
    result = await call(world, MEMBER, "{ members { edges { node { externalId } } } }")

    assert messages(result) == REFUSED and result["data"] is None
    assert "cust-b" not in str(result)


async def test_preview_for_another_member_reveals_nothing_about_them(world):
    query = "query($input: PreviewPointsInput!) { previewPoints(input: $input) { points } }"

    other = await call(
        world, MEMBER, query, {"input": {"lines": LINES, "memberExternalId": "cust-b"}}
    )
    missing = await call(
        world, MEMBER, query, {"input": {"lines": LINES, "memberExternalId": "nobody"}}
    )

    assert other == missing


async def test_another_members_coupon_answers_as_if_it_did_not_exist(world):
    document, variables = answer_for(world, "cancelCoupon")
    before = await snapshot()

    for_other = await call(world, MEMBER, document, variables)
    for_missing = await call(world, MEMBER, document, {"input": {"code": "AAAA-BBBB-CCCC"}})

    assert for_other == for_missing
    assert await snapshot() == before


@pytest.mark.parametrize(
    "name",
    [
        "adjustPoints",
        "recordOrder",
        "refundOrder",
        "issueMemberToken",
        "enrollMember",
        "useCoupon",
        "validateCoupon",
    ],
)
async def test_a_member_cannot_read_or_change_another_members_data(world, name):
    before = await snapshot()

    result = await call(world, MEMBER, *answer_for(world, name))

    assert messages(result) == REFUSED
    assert world.targets.coupon_b not in str(result) and "cust-b" not in str(result)
    assert await snapshot() == before


async def test_a_member_cannot_adjust_their_own_points(world):
    document, _ = answer_for(world, "adjustPoints")
    me = (await call(world, MEMBER, "{ me { id } }"))["data"]["me"]["id"]
    before = await snapshot()

    result = await call(
        world, MEMBER, document, {"input": {"memberId": me, "points": 1000, "reason": "me"}}
    )

    assert messages(result) == REFUSED
    assert await snapshot() == before


async def test_a_token_for_a_member_that_does_not_exist_sees_nothing(world):
    token, _ = tokens.issue(999_999, world.settings)
    world.headers["ghost"] = {"Authorization": f"Bearer {token}"}

    result = await call(world, "ghost", "{ me { externalId } }")

    assert result == {"data": {"me": None}}


async def test_a_token_signed_with_another_secret_is_401_and_changes_nothing(world):
    forged_settings = world.settings.with_secrets(secret="another-secret-of-enough-length!")
    forged, _ = tokens.issue(world.targets.member_b_pk, forged_settings)
    before = await snapshot()

    responses = [
        await world.client.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"Authorization": f"Bearer {forged}"},
        )
        for document, variables in (
            ("{ me { externalId } }", {}),
            answer_for(world, "redeemReward"),
        )
    ]

    assert [r.status_code for r in responses] == [401, 401]
    assert "cust-b" not in "".join(r.text for r in responses)
    assert await snapshot() == before


@pytest.mark.parametrize("key", ["", "Bearer", f"Basic {ADMIN_KEY}", f"Bearer {ADMIN_KEY}x"])
async def test_a_malformed_or_wrong_credential_is_401_not_public(world, key):
    response = await world.client.post(
        "/graphql", json={"query": "{ program { name } }"}, headers={"Authorization": key}
    )

    # An empty header is no credential (public); anything else must be a valid one.
    assert response.status_code == (200 if key == "" else 401)
