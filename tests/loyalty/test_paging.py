"""Keyset pagination: every list pages the same way."""

from __future__ import annotations

import pytest

from loyalty.paging import fetch_page, keyset_page
from models import Member
from tests.support import enroll


async def walk(newest_first: bool, first: int) -> list[list[int]]:
    pages, cursor, more = [], None, True
    while more:
        rows, more = await keyset_page(Member.all(), first, cursor, newest_first=newest_first)
        pages.append([m.id for m in rows])
        cursor = rows[-1].id if rows else None
    return pages


@pytest.mark.usefixtures("database")
async def test_keyset_page_walks_every_row_once_in_id_order():
    ids = [(await enroll(f"cust-{i}")).id for i in range(5)]

    pages = await walk(newest_first=False, first=2)

    assert pages == [ids[0:2], ids[2:4], ids[4:5]]


@pytest.mark.usefixtures("database")
async def test_keyset_page_newest_first_walks_backwards_from_the_cursor():
    ids = [(await enroll(f"cust-{i}")).id for i in range(4)]

    pages = await walk(newest_first=True, first=2)

    assert pages == [ids[3:1:-1], ids[1::-1]]


async def test_fetch_page_reads_one_row_more_than_the_page_to_tell_if_more_follow():
    asked: list[int] = []

    async def fetch(limit: int) -> list[int]:
        asked.append(limit)
        return list(range(10))[:limit]

    assert await fetch_page(fetch, 3) == ([0, 1, 2], True)
    assert await fetch_page(fetch, 10) == (list(range(10)), False)
    assert asked == [4, 11]
