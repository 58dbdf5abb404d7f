"""Programme rules: bonus rules, campaigns, caps, tiers, plans, actions, and their combinations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty import members, orders
from loyalty.errors import ErrorCode, InvalidInput, LoyaltyError
from loyalty.ledger import check
from loyalty.ops import jobs
from loyalty.programme import actions, admin, config, tiers
from models import Action, Member, Period, TierBasis, TierWindow
from tests.support import enroll, lines

pytestmark = pytest.mark.usefixtures("database")
T0 = datetime(2026, 3, 10, 12, tzinfo=UTC)


async def buy(settings, external_id, items, at=T0, member="cust-1"):
    return await orders.record_order(
        settings, orders.OrderInput(external_id, member, lines(*items), placed_at=at)
    )


async def seed_catalogue(settings):
    """Products with categories, so rules can name them."""
    await enroll("seed")
    await orders.record_order(
        settings,
        orders.OrderInput(
            "seed-order",
            "seed",
            [
                orders.LineInput("BREAD", 1, Decimal("1.00"), category="bakery"),
                orders.LineInput("SOAP", 1, Decimal("1.00"), category="household"),
            ],
            placed_at=T0 - timedelta(days=400),
        ),
    )


async def test_category_and_product_bonus_rules(database):
    await seed_catalogue(database)
    await enroll()
    await admin.save_earning_rule(name="bakery double", category="bakery", multiplier=Decimal(2))
    await admin.save_earning_rule(name="soap bonus", sku="SOAP", points_per_item=5)

    preview = await orders.preview(
        database, lines(("BREAD", 2, "5.00"), ("SOAP", 3, "2.00")), member_external_id="cust-1"
    )
    result = await buy(database, "o-1", [("BREAD", 2, "5.00"), ("SOAP", 3, "2.00")])

    # bread 10.00 x 2 = 20; soap 6.00 x 1 = 6, + 3 x 5 = 15 -> 41
    assert result.points_awarded == preview.points == 41
    assert [line.points for line in preview.lines] == [20, 21]
    assert "bakery double" in preview.lines[0].explanation


async def test_campaign_window_edges(database):
    await enroll()
    start, end = T0, T0 + timedelta(days=7)
    await admin.save_campaign(
        name="double week", starts_at=start, ends_at=end, multiplier=Decimal(2)
    )

    before = await buy(database, "before", [("A", 1, "10.00")], at=start - timedelta(seconds=1))
    first = await buy(database, "first", [("A", 1, "10.00")], at=start)
    last = await buy(database, "last", [("A", 1, "10.00")], at=end - timedelta(seconds=1))
    after = await buy(database, "after", [("A", 1, "10.00")], at=end)

    assert [r.points_awarded for r in (before, first, last, after)] == [10, 20, 20, 10]


async def test_fixed_campaign_limited_to_a_tier(database):
    await enroll()
    await admin.save_tier(
        name="Gold", threshold=50, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
    )
    await admin.save_campaign(
        name="gold bonus",
        starts_at=T0 - timedelta(days=1),
        ends_at=T0 + timedelta(days=30),
        fixed_points=25,
        tiers=["Gold"],
    )

    below = await buy(database, "o-1", [("A", 1, "60.00")])  # reaches Gold after this order
    gold = await buy(database, "o-2", [("A", 1, "10.00")], at=T0 + timedelta(hours=1))

    assert (below.points_awarded, gold.points_awarded) == (60, 35)


async def test_caps_per_order_and_per_day(database):
    await enroll()
    await admin.set_cap(Period.ORDER, 100)
    await admin.set_cap(Period.DAY, 150)

    big = await buy(database, "o-1", [("A", 1, "500.00")])
    same_day = await buy(database, "o-2", [("A", 1, "80.00")], at=T0 + timedelta(hours=2))
    capped_out = await buy(database, "o-3", [("A", 1, "80.00")], at=T0 + timedelta(hours=3))
    next_day = await buy(database, "o-4", [("A", 1, "80.00")], at=T0 + timedelta(days=1))

    assert [r.points_awarded for r in (big, same_day, capped_out, next_day)] == [100, 50, 0, 80]
    assert await check.violations() == []


async def test_monthly_and_lifetime_caps(database):
    await enroll()
    await admin.set_cap(Period.MONTH, 100)
    await admin.set_cap(Period.LIFETIME, 150)

    march = await buy(database, "o-1", [("A", 1, "120.00")])
    april = await buy(database, "o-2", [("A", 1, "120.00")], at=T0 + timedelta(days=31))

    assert (march.points_awarded, april.points_awarded) == (100, 50)


async def test_tier_multiplier_and_upgrade_mid_period(database):
    await enroll()
    await admin.save_tier(
        name="Silver", threshold=100, basis=TierBasis.POINTS, window=TierWindow.CALENDAR_YEAR
    )
    await admin.save_tier(
        name="Gold",
        threshold=300,
        basis=TierBasis.POINTS,
        window=TierWindow.CALENDAR_YEAR,
        multiplier=Decimal("1.5"),
    )
    member = await Member.get(external_id="cust-1")

    await buy(database, "o-1", [("A", 1, "120.00")])
    silver = await tiers.progress(member.id, T0)
    await buy(database, "o-2", [("A", 1, "200.00")], at=T0 + timedelta(days=1))
    gold = await buy(database, "o-3", [("A", 1, "100.00")], at=T0 + timedelta(days=2))

    assert (silver.tier.name, silver.next_tier.name, silver.missing) == ("Silver", "Gold", 180)
    assert gold.points_awarded == 150
    state = await config.member_tier(member.id)
    assert state.tier.name == "Gold"
    assert state.period_ends_at == datetime(2027, 1, 1, tzinfo=UTC)


async def test_downgrade_only_at_the_end_of_the_period(database):
    await enroll()
    await admin.save_tier(
        name="Gold", threshold=100, basis=TierBasis.SPEND, window=TierWindow.CALENDAR_YEAR
    )
    member = await Member.get(external_id="cust-1")
    await buy(database, "o-1", [("A", 1, "1.50")])  # 150 cents of spend: Gold for 2026

    mid_year = await jobs.run(datetime(2026, 11, 1, tzinfo=UTC), database)
    new_year = await jobs.run(datetime(2027, 1, 2, tzinfo=UTC), database)  # 2026 qualified: kept
    again = await jobs.run(datetime(2027, 1, 2, tzinfo=UTC), database)
    kept = await config.member_tier(member.id)
    year_after = await jobs.run(datetime(2028, 1, 2, tzinfo=UTC), database)  # 2027: nothing
    gone = await config.member_tier(member.id)

    assert mid_year.tier_changes == 0 and new_year.tier_changes == 0 and again.tier_changes == 0
    assert kept.tier.name == "Gold" and kept.period_ends_at == datetime(2028, 1, 1, tzinfo=UTC)
    assert year_after.tier_changes == 1 and gone.tier is None


async def test_rolling_window_counts_the_last_twelve_months(database):
    await enroll()
    await admin.save_tier(
        name="Gold", threshold=100, basis=TierBasis.POINTS, window=TierWindow.ROLLING_12_MONTHS
    )
    member = await Member.get(external_id="cust-1")
    await buy(database, "old", [("A", 1, "60.00")], at=T0 - timedelta(days=400))

    await buy(database, "new", [("A", 1, "60.00")])
    assert (await config.member_tier(member.id)).tier is None
    await buy(database, "newer", [("A", 1, "60.00")], at=T0 + timedelta(days=1))
    assert (await config.member_tier(member.id)).tier.name == "Gold"


async def test_plan_multiplier_only_while_subscribed(database):
    member = await enroll()
    plan = await admin.save_plan(name="Plus", fee_cents=999, period_days=30, multiplier=Decimal(2))
    await admin.subscribe(member.id, plan.id, T0)

    inside = await buy(database, "o-1", [("A", 1, "10.00")], at=T0 + timedelta(days=5))
    outside = await buy(database, "o-2", [("A", 1, "10.00")], at=T0 + timedelta(days=31))

    assert (inside.points_awarded, outside.points_awarded) == (20, 10)


async def test_actions_signup_review_limit_and_repeated_reference(database):
    await admin.save_action_rule(action=Action.SIGNUP, points=50)
    await admin.save_action_rule(action=Action.REVIEW, points=10, limit_count=2, period=Period.DAY)
    member = await members.enroll(members.EnrollInput("cust-1", "c@example.com"), database)

    first = await actions.record_action(database, "cust-1", Action.REVIEW, "review-1", T0)
    repeat = await actions.record_action(database, "cust-1", Action.REVIEW, "review-1", T0)
    await actions.record_action(database, "cust-1", Action.REVIEW, "review-2", T0)
    with pytest.raises(LoyaltyError) as limited:
        await actions.record_action(database, "cust-1", Action.REVIEW, "review-3", T0)

    assert member.balance == 50
    assert first.points == 10 and repeat.replayed
    assert limited.value.code == ErrorCode.LIMIT_REACHED
    assert (await Member.get(id=member.id)).balance == 70
    assert await check.violations() == []


async def test_birthday_once_a_year_by_the_jobs_runner(database):
    await admin.save_action_rule(action=Action.BIRTHDAY, points=30, period=Period.YEAR)
    await members.enroll(
        members.EnrollInput("cust-1", "c@example.com", birthday=date(1990, 3, 10)), database
    )
    await enroll("cust-2")

    first = await jobs.run(T0, database)
    second = await jobs.run(T0 + timedelta(hours=1), database)
    other_day = await jobs.run(T0 + timedelta(days=1), database)

    assert (first.birthdays, second.birthdays, other_day.birthdays) == (1, 0, 0)
    assert (await Member.get(external_id="cust-1")).balance == 30


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: admin.save_action_rule(action=Action.REVIEW, points=-5), "points"),
        (
            lambda: admin.save_earning_rule(name="x", category="nope", multiplier=Decimal(2)),
            "category",
        ),
        (lambda: admin.save_earning_rule(name="x", sku="A", multiplier=Decimal(-1)), "multiplier"),
        (
            lambda: admin.save_campaign(
                name="x", starts_at=T0, ends_at=T0 - timedelta(days=1), multiplier=Decimal(2)
            ),
            "endsAt",
        ),
        (lambda: admin.set_cap(Period.DAY, 0), "maxPoints"),
    ],
)
async def test_bad_configuration_is_refused(database, call, field):
    with pytest.raises(InvalidInput) as raised:
        await call()
    assert raised.value.field == field


async def test_overlapping_or_mixed_tiers_are_refused(database):
    await admin.save_tier(
        name="Silver", threshold=100, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
    )

    with pytest.raises(InvalidInput) as same:
        await admin.save_tier(
            name="Gold", threshold=100, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
        )
    with pytest.raises(InvalidInput) as mixed:
        await admin.save_tier(
            name="Gold", threshold=200, basis=TierBasis.SPEND, window=TierWindow.LIFETIME
        )

    assert (same.value.field, mixed.value.field) == ("threshold", "basis")


async def test_program_report_shows_the_tier_mix(database):
    from loyalty.reports import summary as reports

    await admin.save_tier(
        name="Silver", threshold=10, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
    )
    await admin.save_tier(
        name="Gold", threshold=100, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
    )
    for i, amount in enumerate(["150.00", "50.00", "5.00", "20.00"]):
        await enroll(f"m-{i}")
        await buy(database, f"o-{i}", [("A", 1, amount)], member=f"m-{i}")

    report = await reports.program_report(database)

    assert report.tier_mix == [(None, 1), ("Silver", 2), ("Gold", 1)]


async def test_a_second_tier_with_the_same_name_is_refused(database):
    await admin.save_tier(
        name="Gold", threshold=100, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
    )

    with pytest.raises(InvalidInput) as raised:
        await admin.save_tier(
            name="Gold", threshold=200, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
        )

    assert raised.value.field == "name"


async def test_qualifying_value_binds_its_window_and_entry_kind_for_either_basis(database):
    await admin.save_action_rule(action=Action.REVIEW, points=7)
    member = await enroll()
    now = datetime.now(UTC)
    await buy(database, "o-1", [("A", 1, "10.00")], at=now - timedelta(days=10))
    await actions.record_action(database, "cust-1", Action.REVIEW, "review-1", now)
    end, since = now + timedelta(days=1), now - timedelta(days=1)

    spend_ever = await tiers.qualifying_value(member.id, TierBasis.SPEND, None, end)
    points_ever = await tiers.qualifying_value(member.id, TierBasis.POINTS, None, end)
    spend_lately = await tiers.qualifying_value(member.id, TierBasis.SPEND, since, end)
    points_lately = await tiers.qualifying_value(member.id, TierBasis.POINTS, since, end)

    assert (spend_ever, points_ever) == (1000, 17)  # the order's 10 points and the review's 7
    assert (spend_lately, points_lately) == (0, 7)  # the review is stamped now, the order before
