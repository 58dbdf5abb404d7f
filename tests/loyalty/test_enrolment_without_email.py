"""Shop customers without an e-mail (phone-only, in-store) can join; referrals still need one."""

from __future__ import annotations

import pytest

from loyalty import members
from loyalty.errors import ErrorCode, InvalidInput
from models import Member


async def test_customers_without_an_email_can_join(database):
    first = await members.enroll(members.EnrollInput(external_id="phone-1", email=""), database)
    second = await members.enroll(members.EnrollInput(external_id="phone-2", email="  "), database)

    assert (first.email, first.email_normalized) == ("", "")
    assert (second.email, second.email_normalized) == ("", "")
    assert await Member.all().count() == 2


async def test_a_referral_without_an_email_is_refused(database):
    referrer = await members.enroll(
        members.EnrollInput(external_id="ref", email="r@example.com"), database
    )

    with pytest.raises(InvalidInput) as raised:
        await members.enroll(
            members.EnrollInput(external_id="new", email="", referral_code=referrer.referral_code),
            database,
        )

    assert (raised.value.code, raised.value.field) == (ErrorCode.INVALID_EMAIL, "email")
    assert await Member.all().count() == 1


@pytest.mark.parametrize("email", ["nope", "a@b", "@example.com"])
async def test_an_email_that_is_given_must_still_be_an_address(database, email):
    with pytest.raises(InvalidInput) as raised:
        await members.enroll(members.EnrollInput(external_id="c-1", email=email), database)

    assert raised.value.code is ErrorCode.INVALID_EMAIL
    assert await Member.all().count() == 0
