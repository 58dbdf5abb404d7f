"""The programme report against a small data set whose every figure is computed by hand.

Report period: 2026-03-01 to 2026-04-30 (end exclusive: 2026-05-01 00:00 UTC).

Members (enrolled): fay 01-05, ann 02-10, bob 03-05, cat 03-20 (referred by ann),
dan 04-02 (referred by ann), eve 05-10.

Orders (placed, amount): ann 02-15 50 | 03-10 40 | 04-10 60 less 5 discount;
bob 03-06 30 | 04-15 20 | 04-20 10 (refunded in full); cat 03-25 25 | 05-03 20; dan 04-05 15;
eve 05-12 100.

Ledger, coupons and donations are stamped 2026-04-01, except ann's February order (02-15),
cat's May order (05-03) and everything of eve (05-12).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from loyalty import db, ledger, members, orders, rewards
from loyalty.ledger import adjust
from loyalty.reports import summary as reports
from models import Lot, Member, RewardKind
from tests.support import enroll, order

pytestmark = pytest.mark.usefixtures("database")
IN_RANGE = datetime(2026, 4, 1, 12, tzinfo=UTC)


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


async def stamp(sql: str, *values) -> None:
    """Test set-up only: move auto-stamped creation times to the story's dates."""
    await db.execute(db.connection(), sql, *values)


async def build(settings) -> dict[str, Member]:
    fay = await enroll("fay")
    ann = await enroll("ann")
    bob = await enroll("bob")
    cat = await members.enroll(
        members.EnrollInput("cat", "cat@example.com", referral_code=ann.referral_code), settings
    )
    dan = await members.enroll(
        members.EnrollInput("dan", "dan@example.com", referral_code=ann.referral_code), settings
    )
    eve = await enroll("eve")
    people = {"fay": fay, "ann": ann, "bob": bob, "cat": cat, "dan": dan, "eve": eve}

    await order(settings, "ann-feb", "ann", "50.00", placed_at=at(2, 15))
    await order(settings, "ann-mar", "ann", "40.00", placed_at=at(3, 10))
    await order(settings, "ann-apr", "ann", "60.00", placed_at=at(4, 10), discount="5.00")
    await order(settings, "bob-1", "bob", "30.00", placed_at=at(3, 6))
    await order(settings, "bob-2", "bob", "20.00", placed_at=at(4, 15))
    await order(settings, "bob-3", "bob", "10.00", placed_at=at(4, 20))
    await orders.refund_order(settings, orders.RefundInput("bob-3", "r-1", amount="10.00"))
    await order(settings, "cat-mar", "cat", "25.00", placed_at=at(3, 25))  # ann's referral reward
    await order(settings, "cat-may", "cat", "20.00", placed_at=at(5, 3))
    await order(settings, "dan-apr", "dan", "15.00", placed_at=at(4, 5))  # under the minimum
    await order(settings, "eve-may", "eve", "100.00", placed_at=at(5, 12))
    await adjust.adjust_points(dan.id, 5, "goodwill")
    await adjust.adjust_points(fay.id, 12, "test lot")
    fay_lot = await Lot.get(member_id=fay.id)
    await db.atomic(lambda conn: ledger.expire_lot(conn, fay_lot.id))

    def reward(name: str, cost: int, kind: RewardKind, **extra):
        return rewards.create_reward(
            rewards.RewardInput(name=name, kind=kind, points_cost=cost, **extra)
        )

    five_off = await reward("5 off", 50, RewardKind.FIXED_DISCOUNT, value=Decimal(5))
    shipping = await reward("Free shipping", 20, RewardKind.FREE_SHIPPING)
    trees = await reward("Trees", 30, RewardKind.DONATION, value=Decimal(3), cause="Trees")
    ocean = await reward("Ocean", 40, RewardKind.DONATION, value=Decimal(4), cause="Ocean")
    await rewards.redeem(ann.id, five_off.id, key="a1")
    await rewards.redeem(ann.id, five_off.id, key="a2")
    cancelled = await rewards.redeem(ann.id, five_off.id, key="a3")
    assert cancelled.coupon is not None
    await rewards.cancel(cancelled.coupon.code, ann.id, settings)
    await rewards.redeem(bob.id, shipping.id, key="b1")
    await rewards.redeem(cat.id, trees.id, key="c1")
    await rewards.redeem(dan.id, ocean.id, key="d1")
    await rewards.redeem(dan.id, trees.id, key="d2")
    await rewards.redeem(eve.id, shipping.id, key="e1")
    await rewards.redeem(eve.id, shipping.id, key="e2")

    enrolled = {"fay": at(1, 5), "ann": at(2, 10), "bob": at(3, 5), "cat": at(3, 20)}
    enrolled |= {"dan": at(4, 2), "eve": at(5, 10)}
    for name, when in enrolled.items():
        await stamp("UPDATE members SET created_at = $1 WHERE id = $2", when, people[name].id)
    for table in ("ledger_entries", "coupons", "donations"):
        await stamp(f"UPDATE {table} SET created_at = $1", IN_RANGE)
        await stamp(f"UPDATE {table} SET created_at = $1 WHERE member_id = $2", at(5, 12), eve.id)
    await stamp(
        "UPDATE ledger_entries SET created_at = $1 WHERE source = $2", at(2, 15), "order:ann-feb"
    )
    await stamp(
        "UPDATE ledger_entries SET created_at = $1 WHERE source = $2", at(5, 3), "order:cat-may"
    )
    return people


async def test_every_figure_of_the_report_matches_the_hand_computed_one(database):
    await build(database)

    report = await reports.program_report(database, date(2026, 3, 1), date(2026, 4, 30))

    assert (report.start, report.end) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 5, 1, tzinfo=UTC),
    )
    # bob, cat, dan enrolled in the period; fay and ann before it too; eve after it
    assert (report.members_enrolled, report.members_total) == (3, 5)
    # orders in the period: ann 2, bob 3, cat 1, dan 1
    assert (report.orders, report.active_members) == (7, 4)
    # 40 + (60 - 5) + 30 + 20 + (10 - 10 refunded) + 25 + 15
    assert report.revenue_cents == 185_00
    assert report.average_order_value_cents == 26_43  # 185 / 7 = 26.428...
    assert report.purchase_frequency == 7 / 4
    assert (report.repeat_customers, report.repeat_purchase_rate) == (2, 0.5)  # ann and bob
    # cohorts: March (bob, cat): bob ordered again in April; April (dan): nobody later yet
    assert [(c.month, c.members, c.retained, c.months) for c in report.cohorts] == [
        ("2026-03", 2, 1, [(1, 1)]),
        ("2026-04", 1, 0, []),
    ]
    assert report.cohorts[0].retention == 0.5
    # issued: welcome 100 + 100, referral 200, orders 40 + 55 + 30 + 20 + 10 + 25 + 15,
    # adjustments 5 + 12 (the refund's reversal and the cancelled coupon's return are not issues)
    assert report.points_issued == 612
    # redeemed: ann 3 x 50 less 50 returned, bob 20, cat 30, dan 40 + 30 (eve's are in May)
    assert report.points_redeemed == 220
    assert report.points_expired == 12
    assert report.redemption_rate == 220 / 612
    assert report.breakage == 12 / 612
    # balances now: ann 245, bob 30, cat 115, dan 50, eve 60, fay 0 = 500; at the end of the
    # period less cat's May order (20) and everything of eve (100 - 40): 420
    assert report.points_outstanding == 420
    assert report.liability == Decimal("4.20")
    # cat and dan were referred in the period; cat's order earned ann the referral reward
    assert (report.referees, report.referees_converted, report.referral_conversion) == (2, 1, 0.5)
    # coupons in the period: 5 off x 3 (one later cancelled, still issued), free shipping x 1
    assert [(t.name, t.coupons) for t in report.top_rewards] == [("5 off", 3), ("Free shipping", 1)]
    assert [(d.cause, d.donations, d.points, d.value_cents) for d in report.donations] == [
        ("Ocean", 1, 40, 400),
        ("Trees", 2, 60, 600),
    ]


async def test_the_balances_behind_the_report_are_as_computed(database):
    people = await build(database)

    balances = {name: (await Member.get(id=m.id)).balance for name, m in people.items()}

    assert balances == {"fay": 0, "ann": 245, "bob": 30, "cat": 115, "dan": 50, "eve": 60}


async def test_an_open_period_runs_from_the_beginning_until_now(database):
    await build(database)

    report = await reports.program_report(database, now=datetime(2026, 6, 1, tzinfo=UTC))

    assert (report.members_enrolled, report.orders) == (6, 10)
    assert report.points_outstanding == 500
    assert [(c.month, c.members, c.retained) for c in report.cohorts] == [
        ("2026-01", 1, 0),
        ("2026-02", 1, 1),
        ("2026-03", 2, 2),
        ("2026-04", 1, 0),
        ("2026-05", 1, 0),
    ]
    assert [(t.name, t.coupons) for t in report.top_rewards] == [("5 off", 3), ("Free shipping", 3)]


async def test_an_empty_programme_reports_zeros_and_no_rates(database):
    report = await reports.program_report(database, date(2026, 3, 1), date(2026, 3, 31))

    assert (report.members_enrolled, report.orders, report.revenue_cents) == (0, 0, 0)
    assert (report.repeat_purchase_rate, report.average_order_value_cents) == (None, None)
    assert (report.redemption_rate, report.breakage, report.referral_conversion) == (
        None,
        None,
        None,
    )
    assert (report.cohorts, report.top_rewards, report.donations) == ([], [], [])
    assert report.liability == Decimal("0.00")


async def test_a_period_that_ends_before_it_starts_is_refused(database):
    with pytest.raises(reports.InvalidInput):
        await reports.program_report(database, date(2026, 3, 2), date(2026, 3, 1))


async def test_the_reports_donations_are_the_donation_totals_of_its_period(database):
    people = await build(database)
    await stamp(
        "UPDATE donations SET created_at = $1 WHERE member_id = $2", at(5, 12), people["dan"].id
    )

    report = await reports.program_report(database, date(2026, 3, 1), date(2026, 4, 30))
    in_period = await rewards.donation_totals((report.start, report.end))

    assert [(d.cause, d.donations, d.points, d.value_cents) for d in in_period] == [
        ("Trees", 1, 30, 300)
    ]
    assert report.donations == in_period
    assert [(d.cause, d.donations) for d in await rewards.donation_totals()] == [
        ("Ocean", 1),
        ("Trees", 2),
    ]
