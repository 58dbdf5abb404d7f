"""Keyset pagination, the one style every list uses: rows in id order, ``first`` at a time,
after a cursor (the id of the last row of the page before); one row more than asked is read to
tell whether more follow, so no page needs a count."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)
T = TypeVar("T")


async def fetch_page(
    fetch: Callable[[int], Awaitable[list[T]]], first: int
) -> tuple[list[T], bool]:
    """A page from ``fetch(limit)`` (rows already in order after the cursor); more to come?"""
    rows = await fetch(first + 1)
    return rows[:first], len(rows) > first


async def keyset_page(
    query: QuerySet[M], first: int, cursor: int | None, *, newest_first: bool = False
) -> tuple[list[M], bool]:
    """A page of ``query`` by id (descending with ``newest_first``) after ``cursor``; more?"""
    query = query.order_by("-id" if newest_first else "id")
    if cursor is not None:
        query = query.filter(id__lt=cursor) if newest_first else query.filter(id__gt=cursor)
    return await fetch_page(query.limit, first)
