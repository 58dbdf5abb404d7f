"""Privacy in the domain: the export's tables come from the models, token revocation through
each process's cached versions, retention of raw deliveries and sent events, customers the
shop deleted, and ``loyalty member export``."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.fields.relational import ForeignKeyFieldInstance, OneToOneFieldInstance
from tortoise.models import Model

from loyalty import cli, db, orders, rewards
from loyalty.errors import ErrorCode, InvalidInput, NotFound
from loyalty.ledger import check
from loyalty.members import reminders, tokens
from loyalty.ops import jobs
from loyalty.platforms import inbox
from loyalty.privacy import export
from loyalty.settings import KEYS, Settings
from models import (
    DeliveryStatus,
    EventDelivery,
    InboxDelivery,
    InboxStatus,
    Member,
    MemberOffer,
    ModelVersion,
    Order,
    OutboxEvent,
    Product,
    RewardKind,
)
from tests.api.test_query_count import logged_queries
from tests.support import enroll, order

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms"


def tables_about_members() -> set[str]:
    """Every table with rows about a member, derived from the models here too: those with a
    key to members (or a member_id column), then those with a key to any of them."""
    models = list(Tortoise.apps["models"].values())

    def keys(model: type[Model]) -> list[type[Model]]:
        return [
            field.related_model
            for field in model._meta.fields_map.values()
            if isinstance(field, ForeignKeyFieldInstance | OneToOneFieldInstance)
        ]

    about = {
        m
        for m in models
        if m is not Member
        and (Member in keys(m) or "member_id" in m._meta.fields_db_projection.values())
    }
    while more := {m for m in models if m not in about and m is not Member} & {
        m for m in models if set(keys(m)) & about
    }:
        about |= more
    return {m._meta.db_table for m in about}


async def test_the_export_holds_every_table_about_a_member_and_only_its_rows(database):
    # given a member with orders, a refund, a coupon, offers and preferences, and another one
    referrer = await enroll("cust-r")
    member = await enroll("cust-1", email="ada@example.com")
    await Member.filter(id=member.id).update(referred_by_id=referrer.id, name="Ada")
    await enroll("cust-2")
    await order(database, "o-1", amount="300.00")
    await order(database, "o-2", member_external_id="cust-2")
    await orders.refund_order(
        database, orders.RefundInput("o-1", external_id="r-1", amount=Decimal("50.00"))
    )
    reward = await rewards.create_reward(
        rewards.RewardInput(
            name="Mug", kind=RewardKind.FIXED_DISCOUNT, points_cost=20, value=Decimal("2.00")
        )
    )
    await rewards.redeem(member.id, reward.id)
    await reminders.set_opt_out(member.id, True, datetime.now(UTC))
    version = await ModelVersion.create(version="v1", path="-", active=True)
    product = await Product.get(sku="SKU-1")
    await MemberOffer.create(
        version=version, member_id=member.id, rank=1, product=product, score=1.0, reason="x"
    )
    await tokens.revoke_all(member.id)

    # when it is exported
    document = await export.export_member(member.id)

    # then every table about members is there (a new one too: the list comes from the models)
    assert set(document["tables"]) == tables_about_members()
    tables = document["tables"]
    filled = {name for name, rows in tables.items() if rows}
    assert {
        "orders",
        "order_lines",
        "refunds",
        "ledger_entries",
        "lots",
        "lot_uses",
        "coupons",
        "outbox_events",
        "marketing_preferences",
        "member_offers",
        "token_revocations",
    } <= filled
    assert document["member"]["email"] == "ada@example.com"
    assert document["member"]["referred_by_id"] == referrer.id
    # and only this member's rows
    for name, rows in tables.items():
        for row in rows:
            assert row.get("member_id", member.id) == member.id, name
    assert [o["external_id"] for o in tables["orders"]] == ["o-1"]
    assert json.dumps(document)  # one machine-readable document


async def test_a_revoked_token_is_refused_and_a_new_one_is_not(database):
    member = await enroll()
    old, _ = tokens.issue(member.id, database)
    assert await tokens.check(old, database) == member.id

    version = await tokens.revoke_all(member.id)

    with pytest.raises(tokens.InvalidToken, match="revoked"):
        await tokens.check(old, database)
    new, _ = tokens.issue(member.id, database, version=version)
    assert await tokens.check(new, database) == member.id
    assert (await Member.get(id=member.id)).token_version == version == 1


async def test_another_process_learns_of_a_revocation_on_its_next_refresh(database):
    member = await enroll()
    other = tokens.Revocations()  # another process's view
    patient = replace(database, token_revocation_seconds=3600)
    assert await other.version(member.id, patient) == 0

    await tokens.revoke_all(member.id)

    assert await other.version(member.id, patient) == 0  # not stale yet
    assert await other.version(member.id, replace(database, token_revocation_seconds=0)) == 1


async def test_checking_a_token_reads_nothing_between_refreshes(database):
    member = await enroll()
    token, _ = tokens.issue(member.id, database)
    settings = replace(database, token_revocation_seconds=3600)
    await tokens.check(token, settings)

    with logged_queries() as queries:
        for _ in range(20):
            await tokens.check(token, settings)

    assert queries == []


async def _aged(model: type[Model], pk: int, column: str, when: datetime) -> None:
    await model.filter(pk=pk).update(**{column: when})


async def test_retention_deletes_old_handled_deliveries_and_sent_events_only(database):
    now = datetime(2026, 6, 1, tzinfo=UTC)
    old = now - timedelta(days=40)

    async def delivery(name: str, status: InboxStatus, when: datetime) -> None:
        row = await InboxDelivery.create(
            platform="shopify", topic="orders/paid", delivery_id=name, body="{}", status=status
        )
        await _aged(InboxDelivery, row.id, "received_at", when)

    await delivery("old-applied", InboxStatus.APPLIED, old)
    await delivery("old-ignored", InboxStatus.IGNORED, old)
    await delivery("old-parked", InboxStatus.PARKED, old)
    await delivery("new-applied", InboxStatus.APPLIED, now)

    async def event(name: str, statuses: list[DeliveryStatus], when: datetime) -> None:
        row = await OutboxEvent.create(
            event_id=os.urandom(16).hex(), kind="points_earned", key=name, payload={}
        )
        await _aged(OutboxEvent, row.id, "created_at", when)
        for i, status in enumerate(statuses):
            await EventDelivery.create(
                event=row, url=f"https://r{i}.example", status=status, next_attempt_at=when
            )

    await event("sent", [DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED], old)
    await event("half-failed", [DeliveryStatus.DELIVERED, DeliveryStatus.FAILED], old)
    await event("pending", [DeliveryStatus.PENDING], old)
    await event("never-sent", [], old)
    await event("sent-recently", [DeliveryStatus.DELIVERED], now)

    kept_all = await jobs.run(now, database)  # retention off by default
    report = await jobs.run(now, replace(database, retention_days=30))

    assert (kept_all.pruned.deliveries, kept_all.pruned.events) == (0, 0)
    assert (report.pruned.deliveries, report.pruned.events) == (2, 1)
    left = set(await InboxDelivery.all().values_list("delivery_id", flat=True))
    assert left == {"old-parked", "new-applied"}
    events = set(await OutboxEvent.all().values_list("key", flat=True))
    assert events == {"half-failed", "pending", "never-sent", "sent-recently"}
    assert await EventDelivery.all().count() == 4


async def _closed_by(settings: Settings, platform: str, topic: str, body: bytes) -> Member:
    delivered = await inbox.receive(settings, platform, topic, f"{platform}-1", body)
    assert delivered.status is InboxStatus.APPLIED, delivered.reason
    return await Member.get(closed_at__isnull=False)


@pytest.mark.parametrize(
    ("platform", "topic", "customer", "body"),
    [
        # WooCommerce sends just the id of a deleted resource (see loyalty.platforms.woocommerce)
        ("woocommerce", "customer.deleted", "25", b'{"id": 25}'),
        (
            "bigcommerce",
            "store/customer/deleted",
            "32",
            (FIXTURES / "bigcommerce" / "webhook_store_customer_deleted.json").read_bytes(),
        ),
    ],
)
async def test_a_customer_deleted_in_the_shop_is_closed_and_earns_no_more(
    database, platform, topic, customer, body
):
    await enroll(customer)
    await order(database, "o-1", member_external_id=customer)
    member = await Member.get(external_id=customer)

    closed = await _closed_by(database, platform, topic, body)

    assert closed.id == member.id and closed.balance == member.balance
    assert await reminders.opted_out(member.id)
    with pytest.raises(InvalidInput) as refused:
        await order(database, "o-2", member_external_id=customer)
    assert refused.value.code is ErrorCode.MEMBER_CLOSED
    assert (await Member.get(id=member.id)).balance == member.balance
    again = await inbox.receive(database, platform, topic, f"{platform}-2", body)
    assert again.status is InboxStatus.APPLIED  # closing again changes nothing
    assert (await Member.get(id=member.id)).closed_at == closed.closed_at


async def _one_member(settings: Settings) -> None:
    await db.init(settings, apply_migrations=False)
    try:
        if not settings.is_sqlite:
            await db.connection().execute_script("TRUNCATE members RESTART IDENTITY CASCADE")
        await enroll("cust-1", email="ada@example.com")
    finally:
        await db.close()


@pytest.fixture
def environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name in list(os.environ):
        if name.startswith("LOYALTY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", settings.database_url)
    for name in KEYS:
        monkeypatch.setenv(f"LOYALTY_{name.upper()}", f"{name}-for-the-export-command-0123")
    return {}


async def test_loyalty_member_export_prints_the_document(settings, environment, capsys):
    await _one_member(settings)

    code = await _run(["member", "export", "cust-1"])
    printed = capsys.readouterr()
    missing = await _run(["member", "export", "nobody"])
    refused = capsys.readouterr()

    assert code == 0
    document = json.loads(printed.out)
    assert document["member"]["email"] == "ada@example.com"
    assert "ledger_entries" in document["tables"]
    assert missing == 1 and "no member with externalId 'nobody'" in refused.err


async def _run(argv: list[str]) -> int:
    """The command in a thread: it runs its own event loop, as from a shell."""
    return await asyncio.to_thread(cli.main, argv)


async def test_an_order_in_flight_when_its_member_is_erased_does_not_credit_it(
    database, monkeypatch
):
    from loyalty.orders import record
    from loyalty.privacy import erasure

    member = await enroll("cust-1")
    looked_up = record.ensure_products

    async def erased_meanwhile(*args: Any, **kwargs: Any) -> Any:
        await erasure.erase(database, member.id, "asked")
        return await looked_up(*args, **kwargs)

    monkeypatch.setattr(record, "ensure_products", erased_meanwhile)

    with pytest.raises(NotFound) as refused:
        await order(database, "o-1")

    assert refused.value.code is ErrorCode.MEMBER_NOT_FOUND
    erased = await Member.get(id=member.id)
    assert erased.balance == 0 and erased.lifetime_spend_cents == 0
    assert not await Order.exists(external_id="o-1")


async def test_an_erased_member_earns_nothing_more(database):
    from loyalty import members
    from loyalty.ledger import adjust
    from loyalty.privacy import erasure

    referrer = await enroll("cust-r")
    await members.enroll(
        members.EnrollInput("cust-n", "new@example.com", referral_code=referrer.referral_code),
        database,
    )
    await erasure.erase(database, referrer.id, "asked")

    with pytest.raises(InvalidInput) as refused:
        await adjust.adjust_points(referrer.id, 10, "goodwill")
    await order(database, "o-1", member_external_id="cust-n", amount="100.00")

    assert refused.value.code is ErrorCode.MEMBER_ERASED
    assert (await Member.get(id=referrer.id)).balance == 0
    assert await check.violations() == []
