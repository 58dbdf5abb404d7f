"""Property: random sequences of orders, refunds, actions, redemptions, cancellations and clock
moves (with the jobs runner: pending release, expiry, tiers, birthdays) keep every invariant."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty import members, orders, rewards
from loyalty.errors import LoyaltyError
from loyalty.ledger import check
from loyalty.ops import jobs
from loyalty.programme import actions, admin
from models import Action, ActionRule, Coupon, Member, Period, RewardKind, TierBasis, TierWindow

pytestmark = pytest.mark.usefixtures("database")
T0 = datetime(2026, 1, 5, tzinfo=UTC)
RUN = itertools.count()

STEP = st.one_of(
    st.tuples(st.just("order"), st.integers(1, 300), st.sampled_from(["A", "B"])),
    st.tuples(st.just("refund"), st.integers(1, 100)),
    st.tuples(
        st.just("action"), st.sampled_from([Action.REVIEW, Action.NEWSLETTER]), st.integers(0, 2)
    ),
    st.tuples(st.just("redeem"), st.just(0)),
    st.tuples(st.just("cancel"), st.just(0)),
    st.tuples(st.just("clock"), st.integers(1, 400)),
)


async def configure() -> None:
    if await ActionRule.exists():
        return
    await admin.save_action_rule(action=Action.REVIEW, points=15, limit_count=2, period=Period.WEEK)
    await admin.save_action_rule(action=Action.NEWSLETTER, points=40)
    await admin.save_tier(
        name="Gold",
        threshold=300,
        basis=TierBasis.POINTS,
        window=TierWindow.CALENDAR_YEAR,
        multiplier=Decimal("1.5"),
    )
    await admin.save_campaign(
        name="double",
        starts_at=T0 + timedelta(days=30),
        ends_at=T0 + timedelta(days=60),
        multiplier=Decimal(2),
    )
    await admin.set_cap(Period.DAY, 400)
    await rewards.create_reward(
        rewards.RewardInput(
            name="ship", kind=RewardKind.FREE_SHIPPING, points_cost=50, coupon_days=20
        )
    )


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(STEP, min_size=1, max_size=10))
async def test_random_sequences_keep_the_invariants(database, steps):
    program = replace(database, pending_days=7, lot_expiry_days=180)
    await configure()
    run = next(RUN)
    member = await members.enroll(members.EnrollInput(f"p-{run}", f"p{run}@example.com"), program)
    reward = (await rewards.catalogue(T0))[0]
    now, placed = T0, []
    for i, (kind, value, *extra) in enumerate(steps):
        try:
            if kind == "order":
                await orders.record_order(
                    program,
                    orders.OrderInput(
                        f"p-{run}-{i}",
                        member.external_id,
                        [orders.LineInput(extra[0], 1, Decimal(value))],
                        placed_at=now,
                    ),
                )
                placed.append((f"p-{run}-{i}", value))
            elif kind == "refund" and placed:
                external_id, amount = placed[-1]
                cents = max(1, amount * value)  # value percent of the order, in cents
                await orders.refund_order(
                    program, orders.RefundInput(external_id, amount=Decimal(cents) / 100)
                )
            elif kind == "action":
                await actions.record_action(
                    program, member.external_id, value, f"ref-{extra[0]}", now
                )
            elif kind == "redeem":
                await rewards.redeem(member.id, reward.id, now=now)
            elif kind == "cancel":
                coupon = await Coupon.filter(member_id=member.id, status="issued").first()
                if coupon:
                    await rewards.cancel(coupon.code, member.id, program)
            elif kind == "clock":
                now += timedelta(days=value)
                await jobs.run(now, program)
        except LoyaltyError:
            pass  # refusals (balance, limits, over-refunds) are allowed; they must change nothing
        assert [str(v) for v in await check.violations()] == []
        row = await Member.get(id=member.id)
        assert row.balance >= 0 and row.pending >= 0
