"""Finding members by id or by the shop's customer id, and paging through them."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q

from loyalty import db
from loyalty.errors import ErrorCode, InvalidInput, NotFound
from loyalty.paging import keyset_page
from loyalty.programme.config import TOKEN_SQL, ProgramConfig, TierState, config_for
from models import Member


async def get(member_id: int) -> Member:
    member = await Member.get_or_none(id=member_id)
    if member is None:
        raise NotFound("member not found", field="id", code=ErrorCode.MEMBER_NOT_FOUND)
    return member


@dataclass(frozen=True)
class Account:
    """A member with the tier they hold, and the programme's configuration that names it."""

    member: Member
    tier: TierState
    config: ProgramConfig


# The member, their tier and the configuration's version in one primary-key read.
_ACCOUNT = (
    "SELECT {}, mt.tier_id AS held_tier_id, mt.period_ends_at AS held_until, "
    f"({TOKEN_SQL}) AS config_token "
    "FROM members m LEFT JOIN member_tiers mt ON mt.member_id = m.id WHERE m.id = $1"
)


async def account(member_id: int) -> Account:
    """What ``get`` and ``programme.config.member_tier`` read, in one statement: the account
    page's member, tier and configuration (the process's copy while its version holds)."""
    conn = db.connection()
    rows = await db.fetch(conn, _ACCOUNT.format(db.columns(Member, "m")), member_id)
    if not rows:
        raise NotFound("member not found", field="id", code=ErrorCode.MEMBER_NOT_FOUND)
    row = rows[0]
    config = await config_for(conn, row["config_token"])
    tier = TierState(config.tier(row["held_tier_id"]), db.timestamp(row["held_until"]))
    return Account(db.load(Member, row), tier, config)


async def by_external_id(external_id: str, *, field: str = "memberExternalId") -> Member:
    member = await Member.get_or_none(external_id=external_id)
    if member is None:
        raise NotFound("member not found", field=field, code=ErrorCode.MEMBER_NOT_FOUND)
    return member


async def page(first: int, after_id: int | None) -> tuple[list[Member], bool]:
    """Members in id order after a cursor, and whether more follow."""
    return await keyset_page(Member.all(), first, after_id)


async def search(text: str, limit: int = 20) -> list[Member]:
    """Members whose shop id, e-mail or name contains ``text`` (case-insensitive); an exact shop
    id or e-mail first, then in enrolment order."""
    text = text.strip()
    if not text or len(text) > 255:
        raise InvalidInput("search for 1 to 255 characters", field="q")
    found = (
        await Member.filter(
            Q(external_id__icontains=text) | Q(email__icontains=text) | Q(name__icontains=text)
        )
        .order_by("id")
        .limit(limit)
    )
    exact = text.casefold()
    return sorted(
        found, key=lambda m: m.external_id.casefold() != exact and m.email.casefold() != exact
    )
