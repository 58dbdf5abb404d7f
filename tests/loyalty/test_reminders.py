"""Reminders: one per member every reminder_days, none twice a day, none for opted-out members."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from loyalty.errors import NotFound
from loyalty.members import reminders
from loyalty.ops import jobs
from models import MarketingPreference, OutboxEvent
from tests.support import enroll, order

pytestmark = pytest.mark.usefixtures("database")
NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


async def reminded() -> list[tuple[int, datetime]]:
    return list(
        await OutboxEvent.filter(kind="reminder_due")
        .order_by("id")
        .values_list("member_id", "created_at")
    )


async def test_running_twice_on_the_same_day_writes_nothing_new(database):
    ann = await enroll("ann")
    bob = await enroll("bob")

    first = await jobs.run(NOW, database)
    second = await jobs.run(NOW + timedelta(hours=14), database)

    assert (first.reminders, second.reminders) == (2, 0)
    assert await reminded() == [(ann.id, NOW), (bob.id, NOW)]


async def test_the_next_reminder_is_due_after_reminder_days(database):
    member = await enroll()
    settings = replace(database, reminder_days=7)

    written = [
        await reminders.write_reminders(settings, NOW + timedelta(days=day))
        for day in (0, 6, 7, 13, 14)
    ]

    assert written == [1, 0, 1, 0, 1]
    assert [at for _, at in await reminded()] == [
        NOW,
        NOW + timedelta(days=7),
        NOW + timedelta(days=14),
    ]
    preference = await MarketingPreference.get(member_id=member.id)
    assert preference.last_reminder_at == NOW + timedelta(days=14)


async def test_opted_out_members_get_none_until_they_opt_back_in(database):
    ann = await enroll("ann")
    bob = await enroll("bob")
    await reminders.set_opt_out(bob.id, True, NOW)

    assert await reminders.write_reminders(database, NOW) == 1
    assert [m for m, _ in await reminded()] == [ann.id]
    assert await reminders.opted_out(bob.id)

    await reminders.set_opt_out(bob.id, False, NOW)
    assert await reminders.write_reminders(database, NOW + timedelta(hours=1)) == 1
    assert [m for m, _ in await reminded()] == [ann.id, bob.id]


async def test_opting_out_after_a_reminder_stops_the_next_one(database):
    member = await enroll()
    await reminders.write_reminders(database, NOW)
    await reminders.set_opt_out(member.id, True, NOW)

    assert await reminders.write_reminders(database, NOW + timedelta(days=60)) == 0
    assert len(await reminded()) == 1


async def test_the_reminder_carries_the_statement(database):
    await enroll()
    await order(database, "o-1", amount="42.00", placed_at=NOW - timedelta(days=350))

    await reminders.write_reminders(database, NOW)

    event = await OutboxEvent.get(kind="reminder_due")
    assert event.key == f"reminder:{event.member_id}:2026-06-01"
    assert event.payload["memberExternalId"] == "cust-1"
    assert event.payload["balance"] == 42
    assert event.payload["expiringPoints"] == 42
    assert event.payload["expiringLots"] == [
        {"points": 42, "expiresAt": (NOW - timedelta(days=350) + timedelta(days=365)).isoformat()}
    ]


async def test_opting_out_an_unknown_member_is_not_found(database):
    with pytest.raises(NotFound):
        await reminders.set_opt_out(999, True, NOW)
