"""Erasing a member: its personal data goes, its accounts stay balanced.

One transaction, under the member's row lock:

- the profile is anonymised: the shop's id becomes a random tombstone, e-mail, name and
  birthday are removed, the referral code is one nobody can type;
- open coupons are voided (their points are not returned: the balance is closed), points still
  held for the return window are cancelled, and what is left of the balance is closed by one
  ledger entry of its own kind (``erase``), so every ledger invariant and ``loyalty check``
  hold and reports keep their issued, redeemed and expired totals;
- every token is revoked, reminders stop, precomputed offers are dropped (and the next
  retrain leaves the member's order lines out: ``loyalty.offers.publish``);
- the person's values are replaced wherever they were written: in every table that refers to
  the member (found from the models, like the export), in guest orders kept under the e-mail,
  and in the raw platform deliveries that name the customer;
- a tombstone keeps a keyed digest of the old shop id, so a platform delivery for that customer
  is parked instead of silently enrolling it again (:func:`erased_external_id`); enrolling
  explicitly starts a new member.

Erasing an erased member changes nothing. Orders, lines and amounts stay (without the person)
so reports' figures do not move; only the points outstanding drop by the closed balance.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from loyalty import db, ledger
from loyalty.errors import InvalidInput
from loyalty.ledger import keys
from loyalty.members import lookup, reminders, tokens
from loyalty.members.enrolment import normalize_email
from loyalty.privacy import audit
from loyalty.privacy.export import Link, linked_ids, member_links
from loyalty.privacy.redact import Person, redact_text, redact_value
from loyalty.settings import Settings
from models import (
    Coupon,
    CouponStatus,
    EntryKind,
    Erasure,
    GuestOrder,
    InboxDelivery,
    Member,
    MemberOffer,
    PendingCredit,
    PendingStatus,
)

__all__ = ["Erased", "Person", "erase", "erased_external_id", "forget"]

MAX_REASON = 255
TOMBSTONE = "erased-"


@dataclass(frozen=True)
class Erased:
    """What an erasure did (``replayed``: the member had been erased before)."""

    member: Member
    closed_points: int
    voided_coupons: int
    replayed: bool


def external_id_digest(external_id: str, settings: Settings) -> str:
    """The keyed digest a tombstone keeps of a shop customer id."""
    key = settings.secret.value.encode()
    return hmac.new(key, external_id.strip().encode(), hashlib.sha256).hexdigest()


async def erased_external_id(external_id: str, settings: Settings) -> bool:
    """Whether a member with this shop customer id was erased."""
    return await Erasure.exists(external_id_digest=external_id_digest(external_id, settings))


async def erase(
    settings: Settings, member_id: int, reason: str, now: datetime | None = None
) -> Erased:
    """Erase a member (see the module's docstring); a second call changes nothing."""
    reason = (reason or "").strip()
    if not 0 < len(reason) <= MAX_REASON:
        raise InvalidInput(f"reason must be 1 to {MAX_REASON} characters", field="reason")
    member = await lookup.get(member_id)
    if member.erased_at is not None:
        return Erased(member, 0, 0, replayed=True)
    now = now or datetime.now(UTC)

    async def write(conn: BaseDBAsyncClient) -> tuple[int, int, int] | None:
        balance = await ledger.lock_member(conn, member_id)
        row = await Member.filter(id=member_id).using_db(conn).get()
        if row.erased_at is not None:
            return None  # erased by a concurrent call
        person = Person(row.external_id, row.email, row.name)
        voided = await (
            Coupon.filter(member_id=member_id, status=CouponStatus.ISSUED)
            .using_db(conn)
            .update(status=CouponStatus.VOIDED)
        )
        await _cancel_pending(conn, member_id)
        if balance > 0:
            await ledger.debit(
                conn,
                member_id,
                balance,
                kind=EntryKind.ERASE,
                key=keys.erasure(member_id),
                source="erasure",
            )
        tombstone = TOMBSTONE + secrets.token_hex(8)
        await (
            Member.filter(id=member_id)
            .using_db(conn)
            .update(
                external_id=tombstone,
                email="",
                email_normalized="",
                name=None,
                birthday=None,
                referral_code=tombstone,
                erased_at=now,
            )
        )
        await Erasure.create(
            member_id=member_id,
            external_id_digest=external_id_digest(person.external_id, settings),
            reason=reason,
            erased_at=now,
            using_db=conn,
        )
        version = await tokens.revoke(conn, member_id)
        await reminders.write_opt_out(conn, member_id, True, now)
        await MemberOffer.filter(member_id=member_id).using_db(conn).delete()
        await _scrub_linked(conn, member_id, person, tombstone)
        await _scrub_guest_orders(conn, person, tombstone, normalize_email(row.email))
        await _scrub_inbox(conn, person, tombstone)
        return balance, voided, version

    done = await db.atomic(write)
    erased = await lookup.get(member_id)
    if done is None:
        return Erased(erased, 0, 0, replayed=True)
    closed, voided, version = done
    tokens.revoked(member_id, version)
    audit.changed(
        audit.target(erased),
        {"erased_at": None, "balance": closed, "token_version": version - 1},
        {"erased_at": now, "balance": 0, "token_version": version},
    )
    if voided:
        audit.changed(audit.target(erased), {"open_coupons": voided}, {"open_coupons": 0})
    return Erased(erased, closed, voided, replayed=False)


async def forget(person: Person) -> None:
    """Erase what is kept of a customer who is not a member: guest orders under its e-mail and
    the platform deliveries that name it."""

    async def write(conn: BaseDBAsyncClient) -> None:
        tombstone = TOMBSTONE + secrets.token_hex(8)
        await _scrub_guest_orders(conn, person, tombstone, normalize_email(person.email))
        await _scrub_inbox(conn, person, tombstone)

    await db.atomic(write)


async def _cancel_pending(conn: BaseDBAsyncClient, member_id: int) -> None:
    """Points held for the return window never reach the erased member."""
    held = await (
        PendingCredit.filter(member_id=member_id, status=PendingStatus.PENDING)
        .using_db(conn)
        .values_list("id", "points")
    )
    if not held:
        return
    await (
        PendingCredit.filter(id__in=[pk for pk, _ in held], status=PendingStatus.PENDING)
        .using_db(conn)
        .update(status=PendingStatus.CANCELLED)
    )
    await db.execute(
        conn,
        "UPDATE members SET pending = pending - $1 WHERE id = $2",
        sum(points for _, points in held),
        member_id,
    )


def text_columns(model: type[Model]) -> list[str]:
    """The fields of a model that hold free text or JSON. Enums are not free text, and a
    unique text column is an identifier (an order id, an idempotency key, a code) that other
    rows are found by: neither is rewritten."""
    found = []
    for name in model._meta.fields_db_projection:
        field = model._meta.fields_map[name]
        if isinstance(field, fields.JSONField | fields.TextField) or (
            isinstance(field, fields.CharField)
            and getattr(field, "enum_type", None) is None
            and not field.unique
        ):
            found.append(name)
    return found


async def _scrub_rows(
    conn: BaseDBAsyncClient,
    model: type[Model],
    pks: list[Any],
    person: Person,
    tombstone: str,
    *,
    whole: bool = False,
    topic: str | None = None,
) -> None:
    """Replace the person's values in these rows' text and JSON columns (``whole``, ``topic``:
    see ``redact_text``; ``topic`` names the column that says what a row is about)."""
    columns = text_columns(model)
    if not columns or not pks:
        return
    pk = model._meta.pk_attr
    extra = [topic] if topic and topic not in columns else []
    for start in range(0, len(pks), 500):
        chunk = pks[start : start + 500]
        rows = await model.filter(pk__in=chunk).using_db(conn).values(pk, *columns, *extra)
        for row in rows:
            about = str(row[topic]) if topic else None
            changes: dict[str, Any] = {}
            for column in columns:
                value = row[column]
                if isinstance(value, str):
                    cleaned: Any = redact_text(value, person, tombstone, whole=whole, topic=about)
                elif isinstance(value, dict | list):
                    cleaned = redact_value(value, person, tombstone)
                else:
                    continue
                if cleaned != value:
                    changes[column] = cleaned
            if changes:
                await model.filter(pk=row[pk]).using_db(conn).update(**changes)


async def _scrub_linked(
    conn: BaseDBAsyncClient, member_id: int, person: Person, tombstone: str
) -> None:
    links: list[Link] = member_links()
    ids = await linked_ids(conn, member_id, links)
    for link in links:
        await _scrub_rows(conn, link.model, ids[link.model], person, tombstone)


async def _scrub_guest_orders(
    conn: BaseDBAsyncClient, person: Person, tombstone: str, email_normalized: str
) -> None:
    """Guest orders kept under the person's e-mail are theirs too: nobody can claim them now."""
    if not email_normalized:
        return
    pks = await (
        GuestOrder.filter(email_normalized=email_normalized)
        .using_db(conn)
        .values_list("id", flat=True)
    )
    await GuestOrder.filter(id__in=list(pks)).using_db(conn).update(email_normalized="")
    await _scrub_rows(conn, GuestOrder, list(pks), person, tombstone, whole=True)


async def _scrub_inbox(conn: BaseDBAsyncClient, person: Person, tombstone: str) -> None:
    """Raw platform deliveries that name the customer (by id or e-mail) lose the person."""
    needles = [person.external_id, *person.needles()]
    pks: set[int] = set()
    for needle in needles:
        found = await (
            InboxDelivery.filter(body__icontains=needle).using_db(conn).values_list("id", flat=True)
        )
        pks.update(int(pk) for pk in found)  # type: ignore[call-overload]
    await _scrub_rows(
        conn, InboxDelivery, sorted(pks), person, tombstone, whole=True, topic="topic"
    )
