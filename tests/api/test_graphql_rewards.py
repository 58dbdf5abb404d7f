"""Rewards through GraphQL: every kind redeemed, validated against a cart, used, cancelled, expired."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from api.context import Role
from loyalty.ledger import adjust, check
from loyalty.ops import jobs
from loyalty.programme import admin
from models import Coupon, Donation, LedgerEntry, Member, Reward
from tests.support import enroll, gql, gql_errors, order

pytestmark = pytest.mark.usefixtures("database")

CREATE = """mutation($input: CreateRewardInput!) { createReward(input: $input) {
  reward { id kind pointsCost } userErrors { field code } } }"""
REDEEM = """mutation($input: RedeemRewardInput!) { redeemReward(input: $input) {
  coupon { code status expiresAt reward { name } } donation { cause points value }
  member { pointsBalance } replayed userErrors { field code } } }"""
VALIDATE = """query($code: String!, $cart: [CartLineInput!], $shipping: Decimal! = "0") {
  validateCoupon(code: $code, cart: $cart, shipping: $shipping) {
    valid discount freeShipping reason errorCode } }"""
USE = """mutation($code: String!, $order: String!) {
  useCoupon(input: {code: $code, orderExternalId: $order}) {
    coupon { status orderExternalId } replayed userErrors { code } } }"""
CANCEL = """mutation($code: String!) { cancelCoupon(input: {code: $code}) {
  coupon { status } userErrors { code } } }"""
CART = [
    {"sku": "MUG", "quantity": 2, "unitPrice": "12.00", "category": "kitchen"},
    {"sku": "TEA", "quantity": 1, "unitPrice": "6.00", "category": "food"},
]


async def create(settings, **fields) -> str:
    data = await gql(settings, CREATE, {"input": {"name": "r", "pointsCost": 100, **fields}})
    assert data["createReward"]["userErrors"] == [], data
    return data["createReward"]["reward"]["id"]


async def member_with(settings, points: int, external_id: str = "cust-1") -> Member:
    member = await enroll(external_id)
    if points:
        await adjust.adjust_points(member.id, points, "seed")
    return member


async def redeem(settings, member: Member, reward_id: str, key: str | None = None) -> dict:
    variables = {"input": {"rewardId": reward_id, "idempotencyKey": key}}
    data = await gql(settings, REDEEM, variables, role=Role.MEMBER, member_id=member.id)
    return data["redeemReward"]


async def validate(settings, code, cart=CART, shipping="0"):
    data = await gql(
        settings, VALIDATE, {"code": code, "cart": cart, "shipping": shipping}, role=Role.STOREFRONT
    )
    return data["validateCoupon"]


@pytest.mark.parametrize(
    ("fields", "discount", "free_shipping"),
    [
        ({"kind": "FIXED_DISCOUNT", "value": "5.00"}, "5.00", False),
        ({"kind": "PERCENT_DISCOUNT", "percent": 10}, "3.00", False),
        ({"kind": "PERCENT_DISCOUNT", "percent": 50, "category": "kitchen"}, "12.00", False),
        ({"kind": "FREE_PRODUCT", "sku": "TEA"}, "6.00", False),
        ({"kind": "FREE_SHIPPING"}, "4.90", True),
        ({"kind": "GIFT_CARD", "value": "50.00"}, "30.00", False),
    ],
)
async def test_each_coupon_kind_redeem_validate_use(database, fields, discount, free_shipping):
    member = await member_with(database, 150)
    reward_id = await create(database, **fields)

    redeemed = await redeem(database, member, reward_id)
    code = redeemed["coupon"]["code"]
    checked = await validate(database, code, shipping="4.90")
    used = await gql(database, USE, {"code": code, "order": "o-1"}, role=Role.STOREFRONT)
    again = await gql(database, USE, {"code": code, "order": "o-1"}, role=Role.STOREFRONT)
    other = await gql(database, USE, {"code": code, "order": "o-2"}, role=Role.STOREFRONT)
    after = await validate(database, code)

    assert redeemed["userErrors"] == [] and redeemed["member"] == {"pointsBalance": 50}
    assert len(code.replace("-", "")) == 16
    assert checked == {
        "valid": True,
        "discount": discount,
        "freeShipping": free_shipping,
        "reason": None,
        "errorCode": None,
    }
    assert used["useCoupon"]["coupon"] == {"status": "USED", "orderExternalId": "o-1"}
    assert again["useCoupon"]["replayed"] is True
    assert other["useCoupon"]["userErrors"] == [{"code": "COUPON_USED"}]
    assert (after["valid"], after["errorCode"]) == (False, "COUPON_USED")
    assert await check.violations() == []


async def test_donation_records_the_cause_and_totals(database):
    member = await member_with(database, 300)
    reward_id = await create(database, kind="DONATION", value="2.00", cause="Food bank")

    first = await redeem(database, member, reward_id)
    await redeem(database, member, reward_id)
    totals = await gql(database, "{ donationTotals { cause donations points value } }")

    assert first["coupon"] is None
    assert first["donation"] == {"cause": "Food bank", "points": 100, "value": "2.00"}
    assert totals["donationTotals"] == [
        {"cause": "Food bank", "donations": 2, "points": 200, "value": "4.00"}
    ]
    assert await LedgerEntry.filter(kind="donate").count() == 2


async def test_cancel_returns_points_and_expiry_does_not(database):
    member = await member_with(database, 200)
    reward_id = await create(database, kind="FIXED_DISCOUNT", value="5.00", couponDays=1)
    keep = (await redeem(database, member, reward_id))["coupon"]["code"]
    give_back = (await redeem(database, member, reward_id))["coupon"]["code"]

    cancelled = await gql(
        database, CANCEL, {"code": give_back}, role=Role.MEMBER, member_id=member.id
    )
    twice = await gql(database, CANCEL, {"code": give_back}, role=Role.MEMBER, member_id=member.id)
    report = await jobs.run(datetime.now(UTC) + timedelta(days=2), database)
    expired = await validate(database, keep)

    assert cancelled["cancelCoupon"]["coupon"] == {"status": "CANCELLED"}
    assert twice["cancelCoupon"]["userErrors"] == [{"code": "COUPON_CANCELLED"}]
    assert report.expired_coupons == 1
    assert (expired["valid"], expired["errorCode"]) == (False, "COUPON_EXPIRED")
    assert (await Member.get(id=member.id)).balance == 100
    assert await check.violations() == []


async def test_a_member_cannot_cancel_another_members_coupon(database):
    owner = await member_with(database, 100, "owner")
    other = await member_with(database, 0, "other")
    reward_id = await create(database, kind="FREE_SHIPPING")
    code = (await redeem(database, owner, reward_id))["coupon"]["code"]

    data = await gql(database, CANCEL, {"code": code}, role=Role.MEMBER, member_id=other.id)
    unknown = await gql(
        database, CANCEL, {"code": "AAAA-BBBB-CCCC-DDDD"}, role=Role.MEMBER, member_id=other.id
    )

    assert data["cancelCoupon"] == unknown["cancelCoupon"]
    assert data["cancelCoupon"]["userErrors"] == [{"code": "COUPON_NOT_FOUND"}]
    assert (await Coupon.get(code=code)).status == "issued"


@pytest.mark.parametrize(
    ("fields", "points", "code"),
    [
        ({"kind": "FREE_SHIPPING"}, 99, "INSUFFICIENT_POINTS"),
        ({"kind": "FREE_SHIPPING", "stock": 0}, 500, "OUT_OF_STOCK"),
        (
            {"kind": "FREE_SHIPPING", "startsAt": "2999-01-01T00:00:00+00:00"},
            500,
            "REWARD_NOT_STARTED",
        ),
        ({"kind": "FREE_SHIPPING", "endsAt": "2001-01-01T00:00:00+00:00"}, 500, "REWARD_ENDED"),
    ],
)
async def test_refusals_change_nothing(database, fields, points, code):
    member = await member_with(database, points)
    reward_id = await create(database, **fields)

    result = await redeem(database, member, reward_id)

    assert result["userErrors"] == [
        {"field": ["rewardId"] if code != "INSUFFICIENT_POINTS" else ["points"], "code": code}
    ]
    assert (await Member.get(id=member.id)).balance == points
    assert await Coupon.all().count() == 0


async def test_per_member_limit_and_inactive(database):
    member = await member_with(database, 500)
    reward_id = await create(database, kind="FREE_SHIPPING", perMemberLimit=1)
    await redeem(database, member, reward_id)

    second = await redeem(database, member, reward_id)
    await gql(
        database,
        "mutation($id: ID!) { updateReward(input: {rewardId: $id, active: false}) { userErrors { code } } }",
        {"id": reward_id},
    )
    inactive = await redeem(database, member, reward_id)

    assert second["userErrors"] == [{"field": ["rewardId"], "code": "LIMIT_REACHED"}]
    assert inactive["userErrors"] == [{"field": ["rewardId"], "code": "REWARD_INACTIVE"}]
    assert (await Member.get(id=member.id)).balance == 400


async def test_validation_refusals(database):
    member = await member_with(database, 300)
    minimum = await create(database, kind="FIXED_DISCOUNT", value="5.00", minimumOrder="100.00")
    product = await create(database, kind="FREE_PRODUCT", sku="CAKE")
    code_min = (await redeem(database, member, minimum))["coupon"]["code"]
    code_product = (await redeem(database, member, product))["coupon"]["code"]

    assert (await validate(database, code_min))["errorCode"] == "MINIMUM_NOT_MET"
    assert (await validate(database, code_product))["errorCode"] == "NOT_APPLICABLE"
    assert (await validate(database, "nope"))["errorCode"] == "COUPON_NOT_FOUND"
    assert (await validate(database, code_min.lower().replace("-", "")))[
        "errorCode"
    ] == "MINIMUM_NOT_MET"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "FIXED_DISCOUNT"}, ["value"]),
        ({"kind": "PERCENT_DISCOUNT", "percent": 150}, ["percent"]),
        ({"kind": "FREE_PRODUCT"}, ["sku"]),
        ({"kind": "DONATION", "value": "1.00"}, ["cause"]),
        ({"kind": "FREE_SHIPPING", "pointsCost": -5}, ["pointsCost"]),
        ({"kind": "FREE_SHIPPING", "stock": -1}, ["stock"]),
        (
            {
                "kind": "FREE_SHIPPING",
                "startsAt": "2027-01-02T00:00:00+00:00",
                "endsAt": "2027-01-01T00:00:00+00:00",
            },
            ["endsAt"],
        ),
    ],
)
async def test_bad_rewards_are_refused(database, fields, field):
    data = await gql(database, CREATE, {"input": {"name": "r", "pointsCost": 100, **fields}})
    assert data["createReward"]["reward"] is None
    assert data["createReward"]["userErrors"][0]["field"] == field
    assert await Reward.all().count() == 0


async def test_rewards_catalogue_with_affordability(database):
    member = await member_with(database, 150)
    await create(database, kind="FREE_SHIPPING", pointsCost=100)
    await create(database, kind="FIXED_DISCOUNT", value="5.00", pointsCost=400)
    await create(database, kind="FREE_SHIPPING", pointsCost=50, stock=0)
    query = "{ rewards(first: 10) { edges { node { pointsCost affordable pointsMissing } } } }"

    public = await gql(database, query, role=Role.PUBLIC)
    mine = await gql(database, query, role=Role.MEMBER, member_id=member.id)

    assert [e["node"] for e in public["rewards"]["edges"]] == [
        {"pointsCost": 100, "affordable": None, "pointsMissing": None},
        {"pointsCost": 400, "affordable": None, "pointsMissing": None},
    ]
    assert [e["node"]["pointsMissing"] for e in mine["rewards"]["edges"]] == [0, 250]


async def test_redeem_and_admin_rights(database):
    member = await member_with(database, 100)
    reward_id = await create(database, kind="FREE_SHIPPING")
    variables = {"input": {"name": "x", "kind": "FREE_SHIPPING", "pointsCost": 1}}

    assert await gql_errors(database, CREATE, variables, role=Role.STOREFRONT) == [
        "not authorised for this operation"
    ]
    assert await gql_errors(
        database, REDEEM, {"input": {"rewardId": reward_id}}, role=Role.STOREFRONT
    ) == ["not authorised for this operation"]
    assert await gql_errors(
        database, VALIDATE, {"code": "x"}, role=Role.MEMBER, member_id=member.id
    ) == ["not authorised for this operation"]


async def test_redeem_with_the_same_key_twice_issues_one_coupon(database):
    member = await member_with(database, 300)
    reward_id = await create(database, kind="FREE_SHIPPING")

    first = await redeem(database, member, reward_id, key="k1")
    again = await redeem(database, member, reward_id, key="k1")

    assert again["replayed"] is True and again["coupon"]["code"] == first["coupon"]["code"]
    assert (await Member.get(id=member.id)).balance == 200


async def test_concurrent_redemptions_by_one_member_stop_at_the_balance(database):
    member = await member_with(database, 1000)
    reward_id = await create(database, kind="FREE_SHIPPING", pointsCost=100)

    results = await asyncio.gather(*(redeem(database, member, reward_id) for _ in range(200)))

    issued = [r for r in results if r["coupon"]]
    refused = [r for r in results if r["userErrors"]]
    assert len(issued) == 10 and len(refused) == 190
    assert {r["userErrors"][0]["code"] for r in refused} == {"INSUFFICIENT_POINTS"}
    assert (await Member.get(id=member.id)).balance == 0
    assert await Coupon.all().count() == 10
    assert await check.violations() == []


async def test_concurrent_redemptions_by_many_members_respect_stock(database):
    members = [await member_with(database, 100, f"m-{i}") for i in range(50)]
    reward_id = await create(database, kind="FREE_SHIPPING", pointsCost=100, stock=5)

    results = await asyncio.gather(*(redeem(database, m, reward_id) for m in members))

    assert sum(1 for r in results if r["coupon"]) == 5
    assert (await Reward.get(id=(await Reward.first()).id)).stock == 0
    assert sum(m.balance for m in await Member.all()) == 4500
    assert await check.violations() == []


async def test_concurrent_use_of_one_code_succeeds_once(database):
    member = await member_with(database, 100)
    reward_id = await create(database, kind="FREE_SHIPPING")
    code = (await redeem(database, member, reward_id))["coupon"]["code"]

    results = await asyncio.gather(
        *(
            gql(database, USE, {"code": code, "order": f"o-{i}"}, role=Role.STOREFRONT)
            for i in range(100)
        )
    )

    assert sum(1 for r in results if not r["useCoupon"]["userErrors"]) == 1


async def test_coupon_codes_resist_guessing(database):
    member = await member_with(database, 500)
    reward_id = await create(database, kind="FREE_SHIPPING", pointsCost=100)
    for _ in range(5):
        await redeem(database, member, reward_id)
    from loyalty import rewards

    guesses = [rewards.new_code() for _ in range(10_000)]
    hits = 0
    for start in range(0, len(guesses), 500):
        hits += await Coupon.filter(code__in=guesses[start : start + 500]).count()
    assert hits == 0
    assert await Donation.all().count() == 0


async def test_tier_only_reward_needs_the_tier(database):
    from models import TierBasis, TierWindow

    await admin.save_tier(
        name="Gold", threshold=500, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
    )
    member = await member_with(database, 0)
    await order(database, "o-1", amount="300.00")
    reward_id = await create(database, kind="FREE_SHIPPING", minTier="Gold")
    bad_tier = await gql(
        database,
        CREATE,
        {"input": {"name": "x", "pointsCost": 1, "kind": "FREE_SHIPPING", "minTier": "Platinum"}},
    )

    refused = await redeem(database, member, reward_id)
    await order(database, "o-2", amount="250.00")  # 550 points: Gold
    allowed = await redeem(database, member, reward_id)

    assert refused["userErrors"] == [{"field": ["rewardId"], "code": "TIER_REQUIRED"}]
    assert allowed["userErrors"] == [] and allowed["coupon"]["status"] == "ISSUED"
    assert bad_tier["createReward"]["userErrors"] == [{"field": ["minTier"], "code": "INVALID"}]


@pytest.fixture
def guesses(monkeypatch):
    """A fresh failure limiter with the production limit (tests share the process)."""
    from loyalty.ops import guessing
    from loyalty.ops.ratelimit import FailureLimiter

    limiter = FailureLimiter(limit=guessing.GUESSES.limit, window=guessing.GUESSES.window)
    monkeypatch.setattr(guessing, "GUESSES", limiter)
    return limiter


def junk_codes(count: int, start: int = 0) -> list[str]:
    """Well-formed codes (16 symbols of the alphabet) that no coupon has."""
    from loyalty.rewards import CODE_ALPHABET

    def code(n: int) -> str:
        symbols = "".join(CODE_ALPHABET[(n // 31**k) % 31] for k in range(4))
        return f"ZZZZ-YYYY-XXXX-{symbols}"

    return [code(n) for n in range(start, start + count)]


async def validate_many(settings, codes: list[str], shopper: str | None) -> list[dict]:
    """One request of aliased validateCoupon calls (30 at most, the alias limit)."""
    aliases = " ".join(
        f"c{i}: validateCoupon(code: {json.dumps(code)}, shopperId: {json.dumps(shopper)}) "
        "{ valid errorCode }"
        for i, code in enumerate(codes)
    )
    data = await gql(settings, f"{{ {aliases} }}", role=Role.STOREFRONT)
    return list(data.values())


async def validate_as(settings, code: str, shopper: str | None) -> dict:
    return (await validate_many(settings, [code], shopper))[0]


async def use_many(settings, codes: list[str], shopper: str | None) -> list[dict]:
    aliases = " ".join(
        f'u{i}: useCoupon(input: {{code: {json.dumps(code)}, orderExternalId: "o-{i}", '
        f"shopperId: {json.dumps(shopper)}}}) {{ coupon {{ status }} userErrors {{ code }} }}"
        for i, code in enumerate(codes)
    )
    data = await gql(settings, f"mutation {{ {aliases} }}", role=Role.STOREFRONT)
    return list(data.values())


async def test_one_shoppers_junk_codes_do_not_lock_out_other_shoppers(database, guesses):
    member = await member_with(database, 100)
    real = (await redeem(database, member, await create(database, kind="FREE_SHIPPING")))["coupon"][
        "code"
    ]

    # Ten requests of 30 aliases on junk codes, all for one shopper.
    answers = [
        answer
        for batch in range(10)
        for answer in await validate_many(database, junk_codes(30, 30 * batch), "mallory")
    ]
    other_shopper = await validate_as(database, real, "ann")
    no_shopper = await validate_as(database, real, None)
    same_shopper = await validate_as(database, real, "mallory")

    assert len(answers) == guesses.limit == 300
    assert {a["errorCode"] for a in answers} == {"COUPON_NOT_FOUND"}
    assert other_shopper == {"valid": True, "errorCode": None}
    assert no_shopper == {"valid": True, "errorCode": None}
    assert same_shopper == {"valid": False, "errorCode": "RATE_LIMITED"}


async def test_malformed_codes_are_not_counted_as_guesses(database, guesses):
    member = await member_with(database, 100)
    real = (await redeem(database, member, await create(database, kind="FREE_SHIPPING")))["coupon"][
        "code"
    ]
    malformed = [
        *(f"ZZZZ-YYYY-XXXX-{i:04d}" for i in range(100)),  # 0 and 1 are not in the alphabet
        *(f"ZZZZ-YYYY-XXXX-{i:03d}".replace("0", "Z") for i in range(100)),  # 15 symbols
        *(f"O{i}" for i in range(100)),
        "",
    ]

    answers = []
    for start in range(0, len(malformed), 30):
        answers += await validate_many(database, malformed[start : start + 30], "mallory")
    afterwards = await validate_as(database, real, "mallory")

    assert len(answers) == 301 > guesses.limit
    assert {a["errorCode"] for a in answers} == {"COUPON_NOT_FOUND"}
    assert afterwards == {"valid": True, "errorCode": None}


async def test_use_coupon_counts_and_obeys_the_same_limit(database, guesses):
    member = await member_with(database, 200)
    reward_id = await create(database, kind="FREE_SHIPPING")
    first = (await redeem(database, member, reward_id))["coupon"]["code"]
    second = (await redeem(database, member, reward_id))["coupon"]["code"]

    answers = []
    for batch in range(10):
        answers += await use_many(database, junk_codes(30, 30 * batch), "mallory")
    before = await Coupon.all().order_by("id").values("code", "status", "order_external_id")
    refused = (await use_many(database, [first], "mallory"))[0]
    validated = await validate_as(database, second, "mallory")
    after = await Coupon.all().order_by("id").values("code", "status", "order_external_id")
    other_shopper = (await use_many(database, [first], "ann"))[0]

    assert [a["userErrors"] for a in answers] == [[{"code": "COUPON_NOT_FOUND"}]] * 300
    assert refused == {"coupon": None, "userErrors": [{"code": "RATE_LIMITED"}]}
    assert validated == {"valid": False, "errorCode": "RATE_LIMITED"}
    assert after == before
    assert other_shopper == {"coupon": {"status": "USED"}, "userErrors": []}


async def test_a_shopper_id_over_128_characters_is_refused(database, guesses):
    query = '{ validateCoupon(code: "x", shopperId: "%s") { valid } }'

    at_limit = await gql(database, query % ("s" * 128), role=Role.STOREFRONT)
    over = await gql_errors(database, query % ("s" * 129), role=Role.STOREFRONT)

    assert at_limit == {"validateCoupon": {"valid": False}}
    assert over == ["shopperId must be 1 to 128 characters"]


async def test_min_tier_names_a_tier_deactivated_after_the_reward_was_made(database):
    from models import TierBasis, TierWindow

    tier = {"basis": TierBasis.POINTS, "window": TierWindow.LIFETIME, "threshold": 500}
    gold = await admin.save_tier(name="Gold", **tier)
    await create(database, kind="FREE_SHIPPING", minTier="Gold")
    await create(database, kind="FREE_SHIPPING", pointsCost=200)
    query = "{ rewards { edges { node { pointsCost minTier } } } }"

    active = await gql(database, query, role=Role.PUBLIC)
    await admin.save_tier(name="Gold", **tier, active=False, tier_id=gold.id)
    inactive = await gql(database, query, role=Role.PUBLIC)

    expected = [{"pointsCost": 100, "minTier": "Gold"}, {"pointsCost": 200, "minTier": None}]
    assert [e["node"] for e in active["rewards"]["edges"]] == expected
    assert [e["node"] for e in inactive["rewards"]["edges"]] == expected


async def test_without_a_shopper_id_failures_count_per_client_address(database, guesses):
    import httpx

    from api.app import create_app
    from tests.support import STOREFRONT_KEY

    member = await member_with(database, 100)
    real = (await redeem(database, member, await create(database, kind="FREE_SHIPPING")))["coupon"][
        "code"
    ]
    app = create_app(database, migrate=False)

    async def validate_from(address: str, codes: list[str]) -> list[dict]:
        aliases = " ".join(
            f"c{i}: validateCoupon(code: {json.dumps(c)}) {{ valid errorCode }}"
            for i, c in enumerate(codes)
        )
        transport = httpx.ASGITransport(app=app, client=(address, 40_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(
                "/graphql",
                json={"query": f"{{ {aliases} }}"},
                headers={"Authorization": f"Bearer {STOREFRONT_KEY}"},
            )
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        return list(response.json()["data"].values())

    for batch in range(10):
        await validate_from("203.0.113.7", junk_codes(30, 30 * batch))
    same_address = await validate_from("203.0.113.7", [real])
    other_address = await validate_from("198.51.100.2", [real])

    assert same_address == [{"valid": False, "errorCode": "RATE_LIMITED"}]
    assert other_address == [{"valid": True, "errorCode": None}]


@pytest.mark.parametrize("quantity", [0, -1])
async def test_validate_coupon_refuses_a_free_product_for_a_line_without_items(database, quantity):
    # given: a FREE_PRODUCT coupon for MUG
    member = await member_with(database, 150)
    code = (await redeem(database, member, await create(database, kind="FREE_PRODUCT", sku="MUG")))[
        "coupon"
    ]["code"]

    # when: the cart holds MUG with no (or negative) quantity at 500.00
    checked = await validate(
        database, code, cart=[{"sku": "MUG", "quantity": quantity, "unitPrice": "500.00"}]
    )

    # then: the cart is refused by the order rules, no discount
    assert (checked["valid"], checked["discount"], checked["errorCode"]) == (
        False,
        "0.00",
        "INVALID_QUANTITY",
    )


async def test_validate_coupon_negative_line_cannot_lower_the_minimum_order(database):
    # given: 5.00 off from a cart of 50.00
    member = await member_with(database, 150)
    reward_id = await create(database, kind="FIXED_DISCOUNT", value="5.00", minimumOrder="50.00")
    code = (await redeem(database, member, reward_id))["coupon"]["code"]
    cart = [
        {"sku": "MUG", "quantity": 1, "unitPrice": "60.00"},
        {"sku": "TEA", "quantity": -1, "unitPrice": "20.00"},
    ]

    # when / then: the negative line is refused, not subtracted
    checked = await validate(database, code, cart=cart)
    assert (checked["valid"], checked["errorCode"]) == (False, "INVALID_QUANTITY")
    # and: the same cart without the negative line is fine
    assert (await validate(database, code, cart=cart[:1]))["valid"] is True


async def test_redeem_idempotency_key_reused_for_another_reward_is_a_conflict(database):
    # given: a coupon redeemed under key tap-1
    member = await member_with(database, 500)
    first = await create(database, kind="FIXED_DISCOUNT", value="5.00")
    second = await create(database, kind="FREE_SHIPPING")
    await redeem(database, member, first, key="tap-1")

    # when: the same key is sent for the other reward
    again = await redeem(database, member, second, key="tap-1")

    # then: a conflict, not the first coupon labelled as the second reward; nothing changed
    assert again["coupon"] is None
    assert again["userErrors"] == [{"field": ["idempotencyKey"], "code": "IDEMPOTENCY_CONFLICT"}]
    assert await Coupon.filter(member_id=member.id).count() == 1
    assert (await Member.get(id=member.id)).balance == 400


REWARD_FIELDS = """name description kind pointsCost value percent sku cause category minTier
  minimumOrder stock perMemberLimit couponDays startsAt endsAt active"""


async def test_create_and_update_reward_carry_every_field_to_the_catalogue(database):
    for name, threshold in (("Silver", 100), ("Gold", 500)):
        await admin.save_tier(name=name, threshold=threshold, basis="points", window="lifetime")
    given = {
        "name": "Mug",
        "description": "A mug",
        "value": "5.00",
        "sku": "MUG",
        "cause": "trees",
        "category": "kitchen",
        "minTier": "Silver",
        "minimumOrder": "20.00",
        "stock": 7,
        "perMemberLimit": 2,
        "couponDays": 14,
        "startsAt": "2026-01-01T00:00:00+00:00",
        "endsAt": "2036-01-01T00:00:00+00:00",
    }
    changed = {
        "name": "Big mug",
        "description": "A bigger mug",
        "pointsCost": 300,
        "value": "7.50",
        "sku": "BIG-MUG",
        "cause": "bees",
        "category": "kitchen",
        "minTier": "Gold",
        "minimumOrder": "30.00",
        "stock": 3,
        "perMemberLimit": 1,
        "couponDays": 30,
        "startsAt": "2026-02-01T00:00:00+00:00",
        "endsAt": "2035-01-01T00:00:00+00:00",
        "active": False,
    }
    create = f"""mutation($input: CreateRewardInput!) {{ createReward(input: $input) {{
      reward {{ id {REWARD_FIELDS} }} userErrors {{ field code }} }} }}"""
    update = f"""mutation($input: UpdateRewardInput!) {{ updateReward(input: $input) {{
      reward {{ {REWARD_FIELDS} }} userErrors {{ field code }} }} }}"""

    created = (
        await gql(
            database,
            create,
            {"input": {**given, "kind": "FIXED_DISCOUNT", "pointsCost": 200}},
        )
    )["createReward"]
    reward_id = created["reward"].pop("id")
    updated = (await gql(database, update, {"input": {"rewardId": reward_id, **changed}}))[
        "updateReward"
    ]

    assert created == {
        "reward": {
            **given,
            "kind": "FIXED_DISCOUNT",
            "pointsCost": 200,
            "percent": None,
            "active": True,
        },
        "userErrors": [],
    }
    assert updated == {
        "reward": {**changed, "kind": "FIXED_DISCOUNT", "percent": None},
        "userErrors": [],
    }
