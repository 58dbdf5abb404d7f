"""Referrals: welcome bonus, referrer reward on the first qualifying order, abuse refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.context import Role
from loyalty import members, orders
from loyalty.errors import ErrorCode, LoyaltyError
from loyalty.ledger import check
from models import LedgerEntry, Member
from tests.support import gql, lines, order

pytestmark = pytest.mark.usefixtures("database")


async def join(settings, external_id: str, email: str, code: str | None = None) -> Member:
    return await members.enroll(
        members.EnrollInput(external_id, email, referral_code=code), settings
    )


async def test_referee_gets_welcome_and_referrer_earns_on_first_qualifying_order(database):
    ann = await join(database, "ann", "ann@example.com")
    bob = await join(database, "bob", "bob@example.com", ann.referral_code.lower())

    await order(database, "small", "bob", amount="5.00")  # below the 20.00 minimum
    await order(database, "first", "bob", amount="40.00")
    await order(database, "second", "bob", amount="40.00")

    assert bob.referred_by_id == ann.id and bob.balance == 100
    assert (await Member.get(id=ann.id)).balance == 200
    summary = await gql(
        database,
        "{ me { referrals { invited converted pointsEarned } } }",
        role=Role.MEMBER,
        member_id=ann.id,
    )
    assert summary["me"]["referrals"] == {"invited": 1, "converted": 1, "pointsEarned": 200}
    assert await check.violations() == []


@pytest.mark.parametrize(
    ("email", "code"),
    [
        ("ann@example.com", ErrorCode.SELF_REFERRAL),
        ("ANN+promo@Example.com", ErrorCode.SELF_REFERRAL),
        ("a.n.n@gmail.com", ErrorCode.SELF_REFERRAL),
    ],
)
async def test_self_referral_by_alias_is_refused_and_nothing_is_created(database, email, code):
    referrer_email = "ann@gmail.com" if "gmail" in email else "ann@example.com"
    ann = await join(database, "ann", referrer_email)

    with pytest.raises(LoyaltyError) as raised:
        await join(database, "ann-2", email, ann.referral_code)

    assert raised.value.code == code
    assert await Member.all().count() == 1
    assert await LedgerEntry.all().count() == 0


async def test_an_enrolled_email_cannot_be_referred_again(database):
    ann = await join(database, "ann", "ann@example.com")
    await join(database, "bob", "bob@example.com")

    with pytest.raises(LoyaltyError) as raised:
        await join(database, "bob-again", "bob+2@example.com", ann.referral_code)

    assert raised.value.code == ErrorCode.SELF_REFERRAL


async def test_unknown_code_is_refused(database):
    with pytest.raises(LoyaltyError) as raised:
        await join(database, "bob", "bob@example.com", "NOPE2345")
    assert raised.value.code == ErrorCode.REFERRAL_CODE_UNKNOWN
    assert await Member.all().count() == 0


async def test_yearly_cap_per_referrer(database):
    from dataclasses import replace

    capped = replace(database, referral_yearly_cap=2)
    ann = await join(capped, "ann", "ann@example.com")
    for i in range(3):
        await join(capped, f"r{i}", f"r{i}@example.com", ann.referral_code)
        await orders.record_order(
            capped,
            orders.OrderInput(f"o{i}", f"r{i}", [orders.LineInput("A", 1, "30.00")]),
        )

    assert (await Member.get(id=ann.id)).balance == 400


async def test_full_refund_of_the_first_order_takes_the_reward_back(database):
    ann = await join(database, "ann", "ann@example.com")
    await join(database, "bob", "bob@example.com", ann.referral_code)
    await order(
        database, "first", "bob", amount="40.00", placed_at=datetime.now(UTC) - timedelta(days=3)
    )

    await orders.refund_order(database, orders.RefundInput("first", "r1", amount="40.00"))

    assert (await Member.get(id=ann.id)).balance == 0
    assert (await Member.get(external_id="bob")).balance == 100
    assert await check.violations() == []


async def test_enroll_with_a_bad_code_is_a_user_error(database):
    data = await gql(
        database,
        'mutation { enrollMember(input: {externalId: "x", email: "x@example.com", referralCode: "ZZZZ2222"}) { member { id } userErrors { field code } } }',
        role=Role.STOREFRONT,
    )
    assert data["enrollMember"] == {
        "member": None,
        "userErrors": [{"field": ["referralCode"], "code": "REFERRAL_CODE_UNKNOWN"}],
    }


async def test_referral_reward_is_clawed_back_when_a_partial_refund_drops_below_minimum(database):
    # given: bob's first order of 19.00 + 1.00 reaches the 20.00 minimum; ann earns 200
    ann = await join(database, "ann", "ann@example.com")
    await join(database, "bob", "bob@example.com", ann.referral_code)
    await orders.record_order(
        database,
        orders.OrderInput(
            external_id="first",
            member_external_id="bob",
            lines=lines(("SHIRT", 1, "19.00"), ("SOCKS", 1, "1.00")),
        ),
    )
    assert (await Member.get(id=ann.id)).balance == 200

    # when: the 19.00 line is returned within the clawback window
    await orders.refund_order(
        database,
        orders.RefundInput(
            order_external_id="first",
            external_id="r-1",
            lines=[orders.RefundLineInput("SHIRT", 1)],
        ),
    )

    # then: the order no longer qualifies and the reward is taken back
    assert (await Member.get(id=ann.id)).balance == 0
    assert await check.violations() == []


async def test_referral_reward_stays_when_the_order_still_qualifies_after_a_refund(database):
    # given: a first order of 50.00
    ann = await join(database, "ann", "ann@example.com")
    await join(database, "bob", "bob@example.com", ann.referral_code)
    await order(database, "first", "bob", amount="50.00")

    # when: 30.00 of it is refunded (20.00 left, the minimum)
    await orders.refund_order(
        database, orders.RefundInput(order_external_id="first", external_id="r", amount="30.00")
    )

    # then
    assert (await Member.get(id=ann.id)).balance == 200
