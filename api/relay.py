"""Relay connections, cursors and opaque global ids."""

from __future__ import annotations

import base64
import binascii
from typing import Generic, TypeVar

import strawberry

from api.context import VisibleError
from loyalty.errors import ErrorCode, InvalidInput

T = TypeVar("T")
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


def connection(
    nodes: list[T], cursors: list[str], has_next: bool, has_previous: bool
) -> Connection[T]:
    edges = [Edge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
    )


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
