"""Relay connections, cursors and opaque global ids."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

import strawberry

from api.context import VisibleError
from loyalty.errors import ErrorCode, InvalidInput

T = TypeVar("T")
R = TypeVar("R")
MAX_PAGE = 100


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


# A domain page: (``first``, the cursor's key or None) -> (rows, whether more follow).
Fetch = Callable[[int, int | None], Awaitable[tuple[Sequence[R], bool]]]


async def connection(
    fetch: Fetch[R],
    node: Callable[[R], T],
    first: int | None,
    after: str | None,
    *,
    key: Callable[[R], int] | None = None,
) -> Connection[T]:
    """Every connection of the API: ``fetch`` a page of ``first`` rows after the cursor (the
    key of the last row sent, by default its id), each shaped by ``node``."""
    size, after_key = page_size(first), decode_cursor(after)
    rows, more = await fetch(size, after_key)
    cursor = key or _row_id
    edges = [Edge(cursor=encode_cursor(cursor(row)), node=node(row)) for row in rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=more,
            has_previous_page=bool(after_key),
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


class Listed(NamedTuple, Generic[R]):
    position: int  # from 1
    item: R


def listed(items: Sequence[R]) -> Fetch[Listed[R]]:
    """A list held in memory as a page source, paged by position (``key=position``)."""

    async def fetch(first: int, after: int | None) -> tuple[list[Listed[R]], bool]:
        start = after or 0
        page = enumerate(items[start : start + first], start + 1)
        return [Listed(at, item) for at, item in page], start + first < len(items)

    return fetch


def _row_id(row: Any) -> int:
    return int(row.id)


def position(row: Listed[R]) -> int:
    return row.position


def page_size(first: int | None, default: int = 20) -> int:
    """``first`` between 1 and 100."""
    if first is None:
        return default
    if not 1 <= first <= MAX_PAGE:
        raise VisibleError(f"first must be between 1 and {MAX_PAGE}")
    return first


def encode_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def decode_id(type_name: str, value: str, *, field: str = "id") -> int:
    """The primary key in an opaque id of this type; InvalidInput when malformed."""
    try:
        padded = value + "=" * (-len(value) % 4)
        name, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        if name != type_name or not pk.isdigit() or len(pk) > 18:
            raise ValueError(value)
        return int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"not a valid {type_name} id", field=field, code=ErrorCode.INVALID_ID
        ) from exc


def encode_cursor(pk: int) -> str:
    return encode_id("cursor", pk)


def decode_cursor(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return decode_id("cursor", value, field="after")
    except InvalidInput as exc:
        raise VisibleError("after is not a valid cursor") from exc
