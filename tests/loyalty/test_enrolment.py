"""Enrolment follows the settings its caller passes, never defaults of its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from loyalty import members
from loyalty.programme import admin
from models import Action, Lot


def test_enrolment_refuses_to_run_without_the_callers_settings():
    with pytest.raises(TypeError):
        members.enroll(members.EnrollInput("cust-1", "c@example.com"))  # type: ignore[call-arg]


async def test_the_signup_bonus_expires_by_the_given_settings(database):
    await admin.save_action_rule(action=Action.SIGNUP, points=50)
    settings = replace(database, lot_expiry_days=10)

    member = await members.enroll(members.EnrollInput("cust-1", "c@example.com"), settings)

    lot = await Lot.get(member_id=member.id)
    assert (member.balance, lot.remaining) == (50, 50)
    assert lot.expires_at is not None
    # earned at enrolment, a moment before the lot row is stamped
    assert abs(lot.expires_at - lot.created_at - timedelta(days=10)) < timedelta(minutes=1)
