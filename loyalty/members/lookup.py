"""Finding members by id or by the shop's customer id, and paging through them."""

from __future__ import annotations

from tortoise.expressions import Q

from loyalty.errors import ErrorCode, InvalidInput, NotFound
from loyalty.paging import keyset_page
from models import Member


async def get(member_id: int) -> Member:
    member = await Member.get_or_none(id=member_id)
    if member is None:
        raise NotFound("member not found", field="id", code=ErrorCode.MEMBER_NOT_FOUND)
    return member


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
