"""The ledger against a model: random runs of earn, spend, refund, expire and replays.

A hypothesis state machine drives the real ``loyalty`` functions on SQLite and PostgreSQL and
keeps an in-memory model of what each member should have: the balance, every lot's remainder
(spending oldest expiry first, a refund taking from its order's own lot first), the number of
ledger entries, and each order's refunded amount and reversed points. After every step the
database must agree with the model and ``loyalty.ledger.check.violations()`` must be empty.

Hypothesis drives synchronous code, so each machine owns an asyncio event loop and runs every
step on it; the database is opened on that loop and starts empty for every example.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any, TypeVar

import hypothesis
import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from tortoise import Tortoise
from tortoise.models import Model

from loyalty import db, ledger, orders
from loyalty.errors import Conflict, ErrorCode, InsufficientPoints, InvalidInput
from loyalty.ledger import adjust, check, keys
from loyalty.orders import OrderInput, RefundInput
from loyalty.settings import Settings
from tests.support import enroll, lines, make_settings

T = TypeVar("T")
MEMBERS = ("alice", "bob")
PLACED = datetime(2026, 1, 1, tzinfo=UTC)
NO_EXPIRY = datetime.max.replace(tzinfo=UTC)

SettingsFactory = Callable[[], Settings]


@pytest.fixture
def fresh_database(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> SettingsFactory:
    """Settings for an empty migrated database, new for every call (one per example)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        counter = itertools.count()

        def sqlite_copy() -> Settings:
            # A new file each time: a stale -wal file next to a reused name would be replayed.
            target = tmp_path / f"example-{next(counter)}.sqlite3"
            shutil.copy(template, target)
            return make_settings(f"sqlite://{target}")

        return sqlite_copy
    url: str = request.getfixturevalue("postgres_url")
    return lambda: make_settings(url)


async def _open_empty(settings: Settings) -> None:
    await db.init(settings, apply_migrations=False)
    if not settings.is_sqlite:
        # DELETE, children first, is much faster than TRUNCATE on tables this small; the
        # audit log refuses row deletes (append-only), so it alone is truncated.
        for table in _tables_children_first():
            verb = "TRUNCATE" if table == "audit_log" else "DELETE FROM"
            await db.execute(db.connection(), f"{verb} {table}")


def _tables_children_first() -> list[str]:
    """Every model's table, each before the tables its foreign keys point to."""
    references: dict[type[Model], set[type[Model]]] = {}
    for model in Tortoise.apps["models"].values():
        meta = model._meta
        targets = {meta.fields_map[name].related_model for name in meta.fk_fields | meta.o2o_fields}
        references[model] = targets - {model}
    ordered = TopologicalSorter(references).static_order()  # referenced tables come first
    return [model._meta.db_table for model in reversed(list(ordered))]


@dataclass
class LotModel:
    key: str  # the idempotency key of the credit entry that opened the lot
    member: str
    expires_at: datetime | None
    points: int
    seq: int
    remaining: int = field(init=False)
    expired: bool = False

    def __post_init__(self) -> None:
        self.remaining = self.points


@dataclass
class OrderModel:
    external_id: str
    member: str
    order_input: OrderInput
    eligible_cents: int
    points: int
    refunded_cents: int = 0
    points_reversed: int = 0


@dataclass
class Ledger:
    """What the database should hold."""

    balances: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEMBERS, 0))
    entries: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEMBERS, 0))
    lots: list[LotModel] = field(default_factory=list)
    orders: dict[str, OrderModel] = field(default_factory=dict)
    refunds: dict[str, tuple[str, RefundInput]] = field(default_factory=dict)
    adjustments: dict[str, tuple[str, int]] = field(default_factory=dict)

    def credit(self, member: str, key: str, points: int, expires_at: datetime | None) -> None:
        self.balances[member] += points
        self.entries[member] += 1
        self.lots.append(LotModel(key, member, expires_at, points, seq=len(self.lots)))

    def debit(self, member: str, points: int, prefer_key: str | None = None) -> None:
        """Take points from lots: the preferred lot first, then oldest expiry, then oldest."""
        self.balances[member] -= points
        self.entries[member] += 1
        open_lots = [lot for lot in self.lots if lot.member == member and lot.remaining > 0]
        open_lots.sort(
            key=lambda lot: (lot.key != prefer_key, lot.expires_at or NO_EXPIRY, lot.seq)
        )
        left = points
        for lot in open_lots:
            take = min(left, lot.remaining)
            lot.remaining -= take
            left -= take
        assert left == 0, "model: lots do not cover the balance"


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, make: SettingsFactory) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.settings = make()
        self.model = Ledger()
        self.member_ids: dict[str, int] = {}
        self.sequence = itertools.count(1)
        try:
            self.run(_open_empty(self.settings))
        except BaseException:
            # Close what init() opened, or the next example's init() finds it still open.
            self.run(db.close())
            self.loop.close()
            raise

    def run(self, work: Awaitable[T]) -> T:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        try:
            self.run(db.close())
            self.run(self.loop.shutdown_asyncgens())
            self.run(self.loop.shutdown_default_executor())
        finally:
            self.loop.close()

    def next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self.sequence)}"

    @initialize()
    def enrol_members(self) -> None:
        for name in MEMBERS:
            self.member_ids[name] = self.run(enroll(name)).id

    # -- earn --------------------------------------------------------------------------------

    @rule(
        member=st.sampled_from(MEMBERS),
        prices=st.lists(st.integers(1, 9_999), min_size=1, max_size=3),
        quantity=st.integers(1, 3),
        discount_share=st.sampled_from([0, 0, 10, 50, 100]),
        placed_day=st.integers(0, 5),
    )
    def earn(
        self, member: str, prices: list[int], quantity: int, discount_share: int, placed_day: int
    ) -> None:
        external_id = self.next_id("order")
        subtotal = quantity * sum(prices)
        discount = subtotal * discount_share // 100
        placed_at = PLACED + timedelta(days=placed_day)
        data = OrderInput(
            external_id=external_id,
            member_external_id=member,
            lines=lines(*((f"SKU-{i}", quantity, _money(p)) for i, p in enumerate(prices))),
            placed_at=placed_at,
            discount=_money(discount),
        )

        result = self.run(orders.record_order(self.settings, data))

        eligible = subtotal - discount
        points = eligible // 100  # one point per currency unit, rounded down
        assert not result.replayed and result.points_awarded == points
        self.model.orders[external_id] = OrderModel(external_id, member, data, eligible, points)
        if points > 0:
            expires = placed_at + timedelta(days=self.settings.lot_expiry_days)
            self.model.credit(member, keys.order(external_id), points, expires)

    @rule(member=st.sampled_from(MEMBERS), points=st.integers(1, 500))
    def bonus(self, member: str, points: int) -> None:
        """A positive admin adjustment: a lot that never expires."""
        key = self.next_id("bonus")
        posted = self.run(
            adjust.adjust_points(self.member_ids[member], points, "goodwill", key=key)
        )
        assert posted.created
        self.model.adjustments[key] = (member, points)
        self.model.credit(member, f"adjust:{key}", points, None)

    # -- spend -------------------------------------------------------------------------------

    @rule(member=st.sampled_from(MEMBERS), percent=st.sampled_from([10, 50, 100, 100, 150]))
    def spend(self, member: str, percent: int) -> None:
        """Spend a share of the balance; all of it often (a later refund then falls short)."""
        balance = self.model.balances[member]
        points = max(1, -(-balance * percent // 100))
        key = self.next_id("spend")
        call = adjust.adjust_points(self.member_ids[member], -points, "redeemed", key=key)

        if points > balance:
            with pytest.raises(InsufficientPoints):
                self.run(call)
            return
        assert self.run(call).created
        self.model.adjustments[key] = (member, -points)
        self.model.debit(member, points)

    # -- refund ------------------------------------------------------------------------------

    @precondition(lambda self: self.model.orders)
    @rule(data=st.data(), named=st.booleans())
    def refund(self, data: st.DataObject, named: bool) -> None:
        """A partial refund of an order, sometimes more than is left (refused)."""
        order = self.model.orders[data.draw(st.sampled_from(sorted(self.model.orders)))]
        left = order.eligible_cents - order.refunded_cents
        amount = data.draw(st.just(max(left, 1)) | st.integers(1, left + 100), label="cents")
        refund_id = self.next_id("refund") if named else None
        request = RefundInput(order.external_id, refund_id, amount=_money(amount))
        key = refund_id or f"auto:{order.external_id}:{amount}"

        if key in self.model.refunds:
            # Without a refund id the key is the amount: the same amount again is a retry.
            result = self.run(orders.refund_order(self.settings, request))
            assert result.replayed
            return
        if amount > left:
            with pytest.raises(InvalidInput) as refused:
                self.run(orders.refund_order(self.settings, request))
            assert refused.value.code is ErrorCode.REFUND_EXCEEDS_ORDER
            return

        result = self.run(orders.refund_order(self.settings, request))

        order.refunded_cents += amount
        target = order.points * order.refunded_cents // order.eligible_cents
        due = target - order.points_reversed
        order.points_reversed = target
        taken = min(due, self.model.balances[order.member])
        if due > 0:
            self.model.debit(order.member, taken, prefer_key=keys.order(order.external_id))
        assert not result.replayed
        assert (result.points_reversed, result.shortfall) == (taken, due - taken)
        self.model.refunds[key] = (order.external_id, request)

    # -- expire ------------------------------------------------------------------------------

    @precondition(lambda self: self.model.lots)
    @rule(data=st.data())
    def expire(self, data: st.DataObject) -> None:
        unexpired = [lot for lot in self.model.lots if not lot.expired]
        choices = st.sampled_from(self.model.lots)
        if unexpired:
            choices = st.sampled_from(unexpired) | choices
        lot = data.draw(choices, label="lot")

        async def expire_it() -> ledger.Posted | None:
            (lot_id,) = await db.fetch(
                db.connection(),
                "SELECT l.id FROM lots l JOIN ledger_entries e ON e.id = l.entry_id "
                "WHERE e.idempotency_key = $1",
                lot.key,
            )
            return await db.atomic(lambda conn: ledger.expire_lot(conn, lot_id["id"]))

        posted = self.run(expire_it())

        if lot.expired:
            assert posted is not None and not posted.created
        elif lot.remaining == 0:
            assert posted is None
        else:
            assert posted is not None and posted.created
            assert posted.entry.points == -lot.remaining
            self.model.balances[lot.member] -= lot.remaining
            self.model.entries[lot.member] += 1
            lot.remaining = 0
            lot.expired = True

    # -- replay: the same key again changes nothing -------------------------------------------

    @precondition(lambda self: self.model.orders)
    @rule(data=st.data(), other_lines=st.booleans())
    def replay_order(self, data: st.DataObject, other_lines: bool) -> None:
        order = self.model.orders[data.draw(st.sampled_from(sorted(self.model.orders)))]
        resend = order.order_input
        if other_lines:
            resend = OrderInput(
                order.external_id, order.member, lines(("OTHER", 9, "99.99")), placed_at=PLACED
            )

        result = self.run(orders.record_order(self.settings, resend))

        assert result.replayed and result.points_awarded == order.points

    @precondition(lambda self: self.model.orders)
    @rule(data=st.data())
    def replay_order_for_another_member(self, data: st.DataObject) -> None:
        order = self.model.orders[data.draw(st.sampled_from(sorted(self.model.orders)))]
        other = next(name for name in MEMBERS if name != order.member)
        resend = OrderInput(order.external_id, other, order.order_input.lines)

        with pytest.raises(Conflict) as refused:
            self.run(orders.record_order(self.settings, resend))

        assert refused.value.code is ErrorCode.IDEMPOTENCY_CONFLICT

    @precondition(lambda self: self.model.refunds)
    @rule(data=st.data())
    def replay_refund(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model.refunds)))
        _, request = self.model.refunds[key]

        result = self.run(orders.refund_order(self.settings, request))

        assert result.replayed and result.refund.external_id == key

    @precondition(lambda self: self.model.adjustments)
    @rule(data=st.data())
    def replay_adjustment(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model.adjustments)))
        member, points = self.model.adjustments[key]

        posted = self.run(adjust.adjust_points(self.member_ids[member], points, "retry", key=key))

        assert not posted.created and posted.entry.points == points

    # -- after every step ----------------------------------------------------------------------

    @invariant()
    def database_matches_model(self) -> None:
        if not self.member_ids:
            return
        violations, state = self.run(_database_state())
        assert [str(v) for v in violations] == []
        ids = {db_id: name for name, db_id in self.member_ids.items()}
        assert {ids[k]: v for k, v in state["balances"].items()} == self.model.balances
        assert {ids[k]: v for k, v in state["entries"].items()} == {
            m: n for m, n in self.model.entries.items() if n
        }
        assert state["lots"] == {lot.key: lot.remaining for lot in self.model.lots}
        assert state["orders"] == {
            o.external_id: (o.refunded_cents, o.points_reversed) for o in self.model.orders.values()
        }


async def _database_state() -> tuple[list[check.Violation], dict[str, Any]]:
    conn = db.connection()
    balances = await db.fetch(conn, "SELECT id, balance FROM members")
    entries = await db.fetch(
        conn, "SELECT member_id, COUNT(*) AS n FROM ledger_entries GROUP BY member_id"
    )
    lots = await db.fetch(
        conn,
        "SELECT e.idempotency_key AS k, l.remaining FROM lots l "
        "JOIN ledger_entries e ON e.id = l.entry_id",
    )
    order_rows = await db.fetch(
        conn, "SELECT external_id, refunded_cents, points_reversed FROM orders"
    )
    return await check.violations(), {
        "balances": {r["id"]: r["balance"] for r in balances},
        "entries": {r["member_id"]: r["n"] for r in entries},
        "lots": {r["k"]: r["remaining"] for r in lots},
        "orders": {
            r["external_id"]: (r["refunded_cents"], r["points_reversed"]) for r in order_rows
        },
    }


def _money(cents: int) -> str:
    return str(Decimal(cents) / 100)


def _run(make: SettingsFactory, examples: int, steps: int) -> None:
    run_state_machine_as_test(
        lambda: LedgerMachine(make),  # type: ignore[arg-type]  # any factory works
        settings=hypothesis.settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_ledger_matches_model(fresh_database: SettingsFactory) -> None:
    _run(fresh_database, examples=25, steps=20)


@pytest.mark.slow
def test_ledger_matches_model_long_runs(fresh_database: SettingsFactory) -> None:
    _run(fresh_database, examples=200, steps=50)
