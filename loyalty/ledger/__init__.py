"""The points ledger. Every balance change goes through this package (``loyalty/ledger/``);
nothing else writes balances, entries or lots. The bulk import credits its backfilled orders
through :mod:`loyalty.ledger.bulk` (the same rules, a few statements per batch).

Invariants (checked by the tests and by ``loyalty check``):

1. ``member.balance`` equals the sum of that member's posted entries.
2. ``member.balance >= 0`` always, also under concurrent debits.
3. The sum of ``remaining`` over a member's lots equals the balance.
4. One idempotency key, one effect: an entry's key is unique, so a retried order, webhook,
   action or request changes the ledger once, concurrently too.
5. Entries are never updated or deleted; corrections are new entries (reversal, adjust). The
   one exception is personal text in an entry's ``source`` (an adjustment's reason), which
   erasing the member replaces (``loyalty.privacy.erasure``); points and keys never change.
6. ``member.shortfall`` (points a refund could not take back) equals the shortfall its
   entries recorded less what later returns ``settled``; points given back to a member pay
   that debt first, so a refunded order's points cannot come back through a cancelled coupon.

Every debit records which lots it consumed (``lot_uses``), so points given back (a cancelled
coupon) return with the expiry dates of those lots, not a fresh one.

Every posted entry also writes its outbox event (points earned, spent or expired) in the same
transaction, so an event goes out exactly for the changes that were committed (backfilled
history from the bulk import is not news and writes none).

How they hold: each function runs inside the caller's transaction. A debit is one conditional
``UPDATE members SET balance = balance - x WHERE id = m AND balance >= x``; on PostgreSQL that
statement also takes the member's row lock, so lots are consumed by one transaction at a time.
SQLite has no row locks: there the whole database has one writer at a time (one connection per
process behind an asyncio lock, WAL and a busy timeout across processes), and the same
conditional update keeps the balance from going below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.errors import ErrorCode, InsufficientPoints, InvalidInput, NotFound
from loyalty.events import outbox
from loyalty.ledger import keys
from loyalty.ledger.expiry import lot_expires_at
from loyalty.limits import MAX_BALANCE, MAX_LIFETIME_POINTS, MAX_POINTS
from loyalty.settings import Settings
from models import EntryKind, LedgerEntry, Lot, LotUse

CREDIT_KINDS = frozenset(
    {
        EntryKind.EARN_ORDER,
        EntryKind.EARN_ACTION,
        EntryKind.BONUS,
        EntryKind.REFERRAL,
        EntryKind.ADJUST,
        EntryKind.REVERSAL,  # a cancelled coupon gives its points back
    }
)
DEBIT_KINDS = frozenset(
    {
        EntryKind.REDEEM,
        EntryKind.EXPIRE,
        EntryKind.REVERSAL,
        EntryKind.ADJUST,
        EntryKind.DONATE,
        EntryKind.ERASE,  # closes the balance of an erased member
    }
)


@dataclass(frozen=True)
class Posted:
    """The entry a call produced, and whether this call created it (False on a replay)."""

    entry: LedgerEntry
    created: bool


async def existing(key: str, conn: BaseDBAsyncClient | None = None) -> LedgerEntry | None:
    """The entry already posted under this idempotency key, if any."""
    query = LedgerEntry.filter(idempotency_key=key)
    if conn is not None:
        query = query.using_db(conn)
    return await query.first()


async def credit(
    conn: BaseDBAsyncClient,
    member_id: int,
    points: int,
    *,
    kind: EntryKind,
    key: str,
    source: str | None = None,
    expires_at: datetime | None = None,
    lifetime: bool = True,
    fresh: bool = False,
) -> Posted:
    """Add points to a member's balance and open a lot for them (FIFO by expiry).

    ``fresh`` says the caller knows no entry has this key yet (it derives from a row this
    transaction has just inserted), which saves looking it up; the unique key still guards.
    """
    if kind not in CREDIT_KINDS:
        raise ValueError(f"{kind} is not a credit kind")
    if points <= 0:
        raise InvalidInput("points to credit must be positive", field="points")
    if not fresh:
        found = await existing(key, conn)
        if found is not None:
            return Posted(found, created=False)
    if points > MAX_POINTS:
        raise _over_limit(f"one credit may add at most {MAX_POINTS} points")
    rows = await db.fetch(
        conn,
        "UPDATE members SET balance = balance + $1, lifetime_points = lifetime_points + $2 "
        "WHERE id = $3 AND balance + $1 <= $4 AND lifetime_points + $2 <= $5 RETURNING balance",
        points,
        points if lifetime else 0,
        member_id,
        MAX_BALANCE,
        MAX_LIFETIME_POINTS,
    )
    if not rows:
        if not await _member_exists(conn, member_id):
            raise NotFound("member not found", field="memberId")
        raise _over_limit(f"a balance may hold at most {MAX_BALANCE} points")
    entry = await _post(
        conn,
        member_id=member_id,
        kind=kind,
        points=points,
        balance_after=rows[0]["balance"],
        idempotency_key=key,
        source=source,
        expires_at=expires_at,
    )
    await db.insert(
        conn,
        Lot,
        [
            {
                "entry_id": entry.id,
                "member_id": member_id,
                "points": points,
                "remaining": points,
                "expires_at": expires_at,
                "created_at": entry.created_at,
            }
        ],
        returning="",
    )
    return Posted(entry, created=True)


async def _post(conn: BaseDBAsyncClient, **values: Any) -> LedgerEntry:
    """Insert an entry and its outbox event; the entry as the model it would load as."""
    values.setdefault("shortfall", 0)
    values.setdefault("settled", 0)
    values.setdefault("expires_at", None)
    values["created_at"] = datetime.now(UTC)
    [entry_id] = await db.insert(conn, LedgerEntry, [values])
    entry = LedgerEntry(id=entry_id, **values)
    entry._saved_in_db = True
    if entry.points:
        await outbox.ledger_event(conn, entry)
    return entry


async def debit(
    conn: BaseDBAsyncClient,
    member_id: int,
    points: int,
    *,
    kind: EntryKind,
    key: str,
    source: str | None = None,
    partial: bool = False,
    prefer_lot_entry_id: int | None = None,
) -> Posted:
    """Take points from a member's balance, consuming lots oldest-expiry first.

    With ``partial`` the debit takes what the balance has and records the rest as
    ``shortfall`` (a refund never drives a balance below zero, and never loses the difference).
    """
    if kind not in DEBIT_KINDS:
        raise ValueError(f"{kind} is not a debit kind")
    if points <= 0:
        raise InvalidInput("points to debit must be positive", field="points")
    found = await existing(key, conn)
    if found is not None:
        return Posted(found, created=False)
    take = points
    if partial:
        balance = await lock_member(conn, member_id)
        take = min(points, balance)
    if take > 0:
        rows = await db.fetch(
            conn,
            "UPDATE members SET balance = balance - $1 WHERE id = $2 AND balance >= $1 "
            "RETURNING balance",
            take,
            member_id,
        )
        if not rows:
            if not await _member_exists(conn, member_id):
                raise NotFound("member not found", field="memberId")
            raise InsufficientPoints("the balance does not cover this", field="points")
        balance_after = rows[0]["balance"]
    else:
        balance_after = await lock_member(conn, member_id)
    if points > take:
        await db.execute(
            conn,
            "UPDATE members SET shortfall = shortfall + $1 WHERE id = $2",
            points - take,
            member_id,
        )
    entry = await _post(
        conn,
        member_id=member_id,
        kind=kind,
        points=-take,
        balance_after=balance_after,
        shortfall=points - take,
        idempotency_key=key,
        source=source,
    )
    if take > 0:
        await _consume_lots(conn, member_id, entry.id, take, prefer_lot_entry_id)
    return Posted(entry, created=True)


@dataclass(frozen=True)
class GivenBack:
    """What :func:`give_back` did: points credited, open shortfall settled, points that came
    back already past their expiry (credited and expired at once)."""

    credited: int
    settled: int
    expired: int
    replayed: bool


async def give_back(
    conn: BaseDBAsyncClient,
    debit_key: str,
    *,
    key: str,
    source: str,
    now: datetime,
    settings: Settings,
) -> GivenBack:
    """Return what the debit posted under ``debit_key`` took, lot by lot with each lot's own
    expiry date.

    The member's open shortfall is settled first, from the parts that have not expired
    (oldest expiry first); parts whose expiry has passed are credited and expired at once.
    A debit that predates lot tracking gives its points back with the latest date its lots
    can have had: the expiry of points earned at the time of the debit.
    """
    debit_entry = await existing(debit_key, conn)
    if debit_entry is None or debit_entry.points >= 0:
        raise NotFound("no debit to give back", field="key")
    if await existing(f"{key}:0", conn) is not None:
        return GivenBack(0, 0, 0, replayed=True)
    member_id = debit_entry.member_id
    await lock_member(conn, member_id)
    owed = await _shortfall(conn, member_id)
    parts = await _used_parts(conn, debit_entry.id)
    if not parts:
        parts = [(lot_expires_at(settings, debit_entry.created_at), -debit_entry.points)]
    live = [p for p in parts if p[0] is None or p[0] > now]
    dead = [p for p in parts if p[0] is not None and p[0] <= now]
    settled, credits = 0, []
    for expires_at, points in live:
        pay = min(points, owed - settled)
        settled += pay
        if points > pay:
            credits.append((expires_at, points - pay))
    credits.extend(dead)
    posts = 0
    if settled:
        rows = await db.fetch(
            conn,
            "UPDATE members SET shortfall = shortfall - $1 WHERE id = $2 AND shortfall >= $1 "
            "RETURNING balance",
            settled,
            member_id,
        )
        if not rows:
            raise AssertionError(f"member {member_id}: shortfall changed under the member lock")
        await _post(
            conn,
            member_id=member_id,
            kind=EntryKind.REVERSAL,
            points=0,
            balance_after=rows[0]["balance"],
            settled=settled,
            idempotency_key=f"{key}:{posts}",
            source=source,
        )
        posts += 1
    expired = 0
    for expires_at, points in credits:
        posted = await credit(
            conn,
            member_id,
            points,
            kind=EntryKind.REVERSAL,
            key=f"{key}:{posts}",
            source=source,
            expires_at=expires_at,
            lifetime=False,
            fresh=True,
        )
        posts += 1
        if expires_at is not None and expires_at <= now:
            lot_id = await db.fetch(
                conn, "SELECT id FROM lots WHERE entry_id = $1", posted.entry.id
            )
            await expire_lot(conn, int(lot_id[0]["id"]), source=source)
            expired += points
    credited = sum(points for _, points in credits)
    return GivenBack(credited, settled, expired, replayed=False)


async def _shortfall(conn: BaseDBAsyncClient, member_id: int) -> int:
    rows = await db.fetch(conn, "SELECT shortfall FROM members WHERE id = $1", member_id)
    return int(rows[0]["shortfall"])


async def _used_parts(conn: BaseDBAsyncClient, entry_id: int) -> list[tuple[datetime | None, int]]:
    """The points a debit took, summed per expiry date of the lots they came from, oldest
    expiry first (lots that never expire last)."""
    rows = await (
        LotUse.filter(entry_id=entry_id).using_db(conn).values_list("lot__expires_at", "points")
    )
    parts: dict[datetime | None, int] = {}
    for expires_at, points in rows:
        parts[expires_at] = parts.get(expires_at, 0) + points
    return sorted(
        parts.items(), key=lambda p: (p[0] is None, p[0] or datetime.min.replace(tzinfo=UTC))
    )


async def expire_lot(
    conn: BaseDBAsyncClient, lot_id: int, *, source: str = "expiry"
) -> Posted | None:
    """Expire what is left of one lot; None when nothing is left."""
    lot = await Lot.filter(id=lot_id).using_db(conn).first()
    if lot is None:
        raise NotFound("lot not found")
    key = keys.lot_expiry(lot_id)
    found = await existing(key, conn)
    if found is not None:
        return Posted(found, created=False)
    await lock_member(conn, lot.member_id)
    # Re-read under the member lock: a concurrent spend may have consumed the lot meanwhile.
    rows = await db.fetch(conn, "SELECT remaining FROM lots WHERE id = $1", lot_id)
    remaining = int(rows[0]["remaining"])
    if remaining <= 0:
        return None
    rows = await db.fetch(
        conn,
        "UPDATE members SET balance = balance - $1 WHERE id = $2 AND balance >= $1 "
        "RETURNING balance",
        remaining,
        lot.member_id,
    )
    if not rows:
        raise AssertionError(f"member {lot.member_id}: lot remaining exceeds balance")
    await db.execute(conn, "UPDATE lots SET remaining = 0 WHERE id = $1", lot_id)
    entry = await _post(
        conn,
        member_id=lot.member_id,
        kind=EntryKind.EXPIRE,
        points=-remaining,
        balance_after=rows[0]["balance"],
        idempotency_key=key,
        source=source,
    )
    return Posted(entry, created=True)


def _over_limit(message: str) -> InvalidInput:
    return InvalidInput(message, field="points", code=ErrorCode.POINTS_LIMIT)


async def _member_exists(conn: BaseDBAsyncClient, member_id: int) -> bool:
    return bool(await db.fetch(conn, "SELECT id FROM members WHERE id = $1", member_id))


async def lock_member(conn: BaseDBAsyncClient, member_id: int) -> int:
    """The balance, read with the member's row locked for the rest of the transaction."""
    rows = await _lock(conn, "id = $1", [member_id])
    if not rows:
        raise NotFound("member not found", field="memberId")
    return int(rows[0]["balance"])


async def lock_members(
    conn: BaseDBAsyncClient, external_ids: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """Lock these members for the rest of the transaction: (id, balance) by external id, of
    those that exist."""
    rows = await _lock(conn, f"external_id IN ({db.in_list(len(external_ids))})", external_ids)
    return {row["external_id"]: (int(row["id"]), int(row["balance"])) for row in rows}


async def _lock(
    conn: BaseDBAsyncClient, condition: str, values: Sequence[Any]
) -> list[dict[str, Any]]:
    """Id, external id and balance of the members matching ``condition``, their rows locked
    (in id order) until the transaction ends."""
    if db.dialect(conn) == "sqlite":
        # No row locks: a no-op write takes the database's write lock now, not later.
        query = (
            f"UPDATE members SET balance = balance WHERE {condition} "
            "RETURNING id, external_id, balance"
        )
    else:
        query = (
            f"SELECT id, external_id, balance FROM members WHERE {condition} ORDER BY id FOR UPDATE"
        )
    return await db.fetch(conn, query, *values)


async def _consume_lots(
    conn: BaseDBAsyncClient,
    member_id: int,
    entry_id: int,
    points: int,
    prefer_entry_id: int | None,
) -> None:
    """Lower lot remainders by ``points`` for the debit ``entry_id``: a preferred lot first,
    then oldest expiry first; each lot's share is recorded as a lot use."""
    lots = await (
        Lot.filter(member_id=member_id, remaining__gt=0)
        .using_db(conn)
        .values_list("id", "entry_id", "remaining", "expires_at")
    )
    lots.sort(key=lambda lot: (lot[1] != prefer_entry_id, lot[3] is None, lot[3] or 0, lot[0]))
    left = points
    uses = []
    for lot_id, _entry_id, remaining, _expires in lots:
        if left == 0:
            break
        take = min(left, remaining)
        changed = await db.execute(
            conn,
            "UPDATE lots SET remaining = remaining - $1 WHERE id = $2 AND remaining >= $1",
            take,
            lot_id,
        )
        if changed != 1:
            raise AssertionError(f"lot {lot_id} changed under the member lock")
        uses.append({"entry_id": entry_id, "lot_id": lot_id, "points": take})
        left -= take
    if left:
        raise AssertionError(f"member {member_id}: lots short by {left} points")
    await db.insert(conn, LotUse, uses, returning="")
