"""The programme report read from daily rollups, and the segments read from the rollups'
member totals, equal the full scans of the source tables
(tests/loyalty/report_scan.py, the report's SQL before it had rollups) on random stories:
members (some referred), orders over four months, refunds, redemptions, donations, a cancelled
coupon, adjustments and expiries; before any roll, after one, with late writes into rolled-up
days (backdated orders, refunds of old orders, entries dated in the past, new members), after
another roll and after rebuilds."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty import cli, db, ledger, members, orders, rewards
from loyalty.errors import LoyaltyError
from loyalty.ledger import adjust
from loyalty.ops import jobs
from loyalty.reports import rollups, segments
from loyalty.reports import summary as reports
from loyalty.reports.segments import SegmentFilter
from models import LedgerEntry, Lot, Member, Order, ReportRollup, RewardKind
from tests.loyalty.report_scan import scan_report, scan_segment
from tests.support import enroll, order

pytestmark = pytest.mark.usefixtures("database")

START = datetime(2026, 1, 1, tzinfo=UTC)
FIRST_ROLL = datetime(2026, 4, 10, 6, tzinfo=UTC)  # the jobs runner's first run
NOW = datetime(2026, 4, 15, 13, 30, tzinfo=UTC)  # reports run in the middle of a day
LATER = datetime(2026, 4, 15, 20, tzinfo=UTC)  # rows dated after NOW: not in an open period


def between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    seconds = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(max(seconds, 1)))


async def high_water() -> dict[str, int]:
    return await rollups._heads(db.connection())


async def stamp(sql: str, *values) -> None:
    """Test set-up only: date the rows a step wrote as the story says."""
    await db.execute(db.connection(), sql, *values)


class Story:
    """Writes a random programme history through the domain, dating each step's new rows."""

    def __init__(self, settings, seed: int) -> None:
        self.settings, self.rng = settings, random.Random(seed)
        self.members: list[Member] = []
        self.enrolled: dict[int, datetime] = {}
        self.orders: list[tuple[str, Member, Decimal]] = []
        self.rewards: list[int] = []
        self.n = 0

    def name(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n}"

    async def setup_rewards(self) -> None:
        made = [
            ("five off", 50, RewardKind.FIXED_DISCOUNT, {"value": Decimal(5)}),
            ("shipping", 20, RewardKind.FREE_SHIPPING, {}),
            ("trees", 30, RewardKind.DONATION, {"value": Decimal(3), "cause": "trees"}),
            ("ocean", 40, RewardKind.DONATION, {"value": Decimal(4), "cause": "ocean"}),
        ]
        for name, cost, kind, extra in made:
            reward = await rewards.create_reward(
                rewards.RewardInput(name=name, kind=kind, points_cost=cost, **extra)
            )
            self.rewards.append(reward.id)

    async def step(self, enrol: tuple[datetime, datetime], dated: tuple[datetime, datetime]):
        """Some members, orders, refunds, redemptions and adjustments; new ledger entries,
        coupons and donations dated in ``dated``, new members enrolled in ``enrol``."""
        rng = self.rng
        before = await high_water()
        for _ in range(rng.randint(2, 4)):
            referrer = rng.choice(self.members) if self.members and rng.random() < 0.5 else None
            member = await members.enroll(
                members.EnrollInput(
                    self.name("m"),
                    f"{self.name('mail')}@example.com",
                    referral_code=referrer.referral_code if referrer else None,
                ),
                self.settings,
            )
            when = between(rng, *enrol)
            await stamp("UPDATE members SET created_at = $1 WHERE id = $2", when, member.id)
            self.members.append(member)
            self.enrolled[member.id] = when
        for _ in range(rng.randint(6, 12)):
            member = rng.choice(self.members)
            start = max(self.enrolled[member.id], dated[0])
            amount = Decimal(rng.randint(5, 120))
            external = self.name("o")
            discount = Decimal(rng.choice([0, 0, 3]))
            await order(
                self.settings,
                external,
                member.external_id,
                f"{amount}.00",
                placed_at=between(rng, start, dated[1]),
                discount=f"{discount}.00",
            )
            self.orders.append((external, member, amount))
        for _ in range(rng.randint(1, 3)):  # refunds, of any order so far
            external, _, amount = rng.choice(self.orders)
            part = Decimal(rng.randint(1, int(amount)))
            try:
                await orders.refund_order(
                    self.settings, orders.RefundInput(external, self.name("r"), amount=str(part))
                )
            except LoyaltyError:
                pass  # more than is left to refund
        for _ in range(rng.randint(2, 5)):
            member = rng.choice(self.members)
            try:
                made = await rewards.redeem(member.id, rng.choice(self.rewards), key=self.name("k"))
            except LoyaltyError:
                continue  # the balance does not cover it
            if made.coupon is not None and rng.random() < 0.3:
                await rewards.cancel(made.coupon.code, member.id, self.settings)
        for _ in range(rng.randint(1, 2)):
            member = rng.choice(self.members)
            posted = await adjust.adjust_points(member.id, rng.randint(1, 30), "goodwill")
            if rng.random() < 0.5:
                lot = await Lot.get(entry_id=posted.entry.id)
                await db.atomic(lambda conn, lot_id=lot.id: ledger.expire_lot(conn, lot_id))
        for table in ("ledger_entries", "coupons", "donations"):
            rows = await db.fetch(
                db.connection(), f"SELECT id FROM {table} WHERE id > $1", before[table]
            )
            for row in rows:
                when = between(rng, *dated)
                await stamp(f"UPDATE {table} SET created_at = $1 WHERE id = $2", when, row["id"])
        # a referral reward comes after its referee enrolled
        rewarded = await LedgerEntry.filter(
            id__gt=before["ledger_entries"], idempotency_key__startswith="referral:"
        )
        for entry in rewarded:
            referee = int(entry.idempotency_key.split(":")[1])
            when = max(entry.created_at, self.enrolled[referee] + timedelta(hours=1))
            await stamp("UPDATE ledger_entries SET created_at = $1 WHERE id = $2", when, entry.id)


def periods(rng: random.Random) -> list[tuple[date | None, date | None]]:
    fixed = [
        (None, None),
        (date(2026, 1, 1), date(2026, 4, 15)),
        (date(2026, 2, 10), date(2026, 3, 20)),
        (date(2026, 3, 1), None),
        (date(2026, 4, 10), date(2026, 4, 12)),
        (date(2026, 4, 15), None),
        (date(2026, 4, 15), date(2026, 4, 15)),
        (None, date(2026, 3, 31)),
        (date(2026, 4, 16), date(2026, 5, 31)),
    ]
    days = [date(2026, 1, 1) + timedelta(days=rng.randrange(125)) for _ in range(8)]
    return fixed + [(min(a, b), max(a, b)) for a, b in zip(days[::2], days[1::2], strict=True)]


SEGMENTS = [
    SegmentFilter(),
    SegmentFilter(at_risk=True, at_risk_days=10, regular_orders=2, regular_window_days=40),
    SegmentFilter(at_risk=False, at_risk_days=5, regular_orders=1, regular_window_days=20),
    SegmentFilter(min_rfm=9),
    SegmentFilter(min_recency=3, min_monetary=2),
    SegmentFilter(last_order_before=datetime(2026, 4, 1, tzinfo=UTC), min_points=10),
]


async def assert_same_reports(settings, rng: random.Random) -> None:
    for start, end in periods(rng):
        fast = await reports.program_report(settings, start, end, now=NOW)
        slow = await scan_report(settings, start, end, now=NOW)
        assert fast == slow, (start, end)
    for now in (NOW, datetime(2026, 3, 20, 9, tzinfo=UTC)):  # the second: orders after it
        for f in SEGMENTS:
            found, _ = await segments.find(f, None, now=now)
            assert found == await scan_segment(f, now), (f, now)


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_rolled_up_report_equals_the_full_scan(database, seed):
    story = Story(database, seed)
    await story.setup_rewards()
    # given a history up to the first roll
    await story.step((START, datetime(2026, 2, 20, tzinfo=UTC)), (START, FIRST_ROLL))
    await story.step((START, datetime(2026, 3, 20, tzinfo=UTC)), (START, FIRST_ROLL))
    await assert_same_reports(database, story.rng)  # nothing rolled up: all live

    # when the jobs runner rolls it up
    rolled = await rollups.roll(FIRST_ROLL)
    assert rolled.rows["orders"] == len(story.orders)
    assert await rollups.marks(db.connection()) == await high_water()
    await assert_same_reports(database, story.rng)

    # a refund of a rolled-up order, the member writing nothing else
    external = next(o.external_id for o in await Order.all() if o.refunded_cents == 0)
    refund = orders.RefundInput(external, "late-refund", amount="2.00")
    await orders.refund_order(database, refund)
    await assert_same_reports(database, story.rng)

    # and writes land in rolled-up days (backdated orders, refunds of old orders, entries
    # dated in March) and in today, past the report's moment too
    await story.step(
        (datetime(2026, 3, 1, tzinfo=UTC), NOW), (datetime(2026, 2, 1, tzinfo=UTC), NOW)
    )
    await story.step(
        (datetime(2026, 4, 1, tzinfo=UTC), LATER), (datetime(2026, 4, 14, tzinfo=UTC), LATER)
    )
    # an order of the report's unfinished day, refunded before and after it is rolled up
    member = story.members[0]
    today = datetime(2026, 4, 15, 10, tzinfo=UTC)
    await order(database, "today", member.external_id, "80.00", placed_at=today)
    await orders.refund_order(database, orders.RefundInput("today", "today-1", amount="5.00"))
    await assert_same_reports(database, story.rng)  # late rows read live

    await rollups.roll(NOW)  # then folded into their days
    await assert_same_reports(database, story.rng)
    await orders.refund_order(database, orders.RefundInput("today", "today-2", amount="7.00"))
    await assert_same_reports(database, story.rng)

    await rollups.rebuild(date(2026, 3, 7), NOW)
    await assert_same_reports(database, story.rng)
    await rollups.rebuild(None, NOW)
    await assert_same_reports(database, story.rng)


async def test_the_report_reads_the_rollups_and_a_rebuild_repairs_them(database):
    await enroll("ann")
    for i, day in enumerate((3, 9, 20)):
        await order(
            database, f"ann-{i}", "ann", "10.00", placed_at=datetime(2026, 3, day, tzinfo=UTC)
        )
    await rollups.roll(NOW)
    report = await reports.program_report(database, date(2026, 3, 1), date(2026, 3, 31))
    assert (report.orders, report.active_members, report.repeat_customers) == (3, 1, 1)

    # a damaged rollup shows in the report: it does not scan the orders
    await stamp(
        "UPDATE report_rollups SET value = value + 5 WHERE metric = 'orders' AND day = $1",
        rollups.day_number(date(2026, 3, 9)),
    )
    damaged = await reports.program_report(database, date(2026, 3, 1), date(2026, 3, 31))
    assert damaged.orders == 8

    await rollups.rebuild(date(2026, 3, 5), NOW)
    repaired = await reports.program_report(database, date(2026, 3, 1), date(2026, 3, 31))
    assert repaired == report


async def test_a_roll_adds_only_what_was_written_since_the_last_one(database):
    await enroll("ann")
    await order(database, "ann-1", "ann", "10.00", placed_at=datetime(2026, 3, 3, tzinfo=UTC))
    first = await rollups.roll(NOW)
    again = await rollups.roll(NOW)
    rows = await ReportRollup.all().count()

    assert (first.rows["orders"], first.members) == (1, 1)
    assert (again.rows["orders"], again.members) == (0, 0)
    assert str(again) == "rollups: no new rows; 0 members' orders recounted"
    assert await ReportRollup.all().count() == rows


async def test_the_jobs_runner_rolls_the_rollups_up(database):
    await enroll("ann")
    await order(database, "ann-1", "ann", "10.00", placed_at=datetime(2026, 3, 3, tzinfo=UTC))

    report = await jobs.run(NOW, database)

    assert report.rollups.rows["orders"] == 1
    marks = await rollups.marks(db.connection())
    assert marks["orders"] == (await Order.get(external_id="ann-1")).id


async def test_rebuild_refuses_a_since_that_is_not_a_date(database, capsys):
    args = cli.parser().parse_args(["rollups", "rebuild", "--since", "March"])
    assert args.run is cli.rebuild_rollups

    code = await cli._rebuild_rollups(database, args.since)

    assert code == 2
    assert "--since must be an ISO date (YYYY-MM-DD), not 'March'" in capsys.readouterr().err


async def test_a_roll_waits_for_transactions_that_may_still_commit_ids(database, monkeypatch):
    if database.is_sqlite:
        pytest.skip("SQLite has one writer, whose ids come after every committed one")
    import asyncpg

    await enroll("ann")
    await order(database, "ann-1", "ann", "10.00", placed_at=datetime(2026, 3, 3, tzinfo=UTC))
    monkeypatch.setattr(rollups, "SETTLE_SECONDS", 0.2)
    other = await asyncpg.connect(database.database_url)
    try:
        writing = other.transaction()
        await writing.start()
        await other.execute("SELECT 1")  # a writer's transaction, open before the roll

        skipped = await rollups.roll(NOW)
        assert skipped.skipped
        assert await rollups.marks(db.connection()) == {}

        await writing.commit()
        rolled = await rollups.roll(NOW)
        assert (rolled.skipped, rolled.rows["orders"]) == (False, 1)
    finally:
        await other.close()
