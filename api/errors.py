"""Domain errors to ``userErrors``: the one place that maps them."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import strawberry

from loyalty.errors import ErrorCode, LoyaltyError

UserErrorCode = strawberry.enum(ErrorCode, name="UserErrorCode")

P = ParamSpec("P")
T = TypeVar("T")


@strawberry.type
class UserError:
    field: list[str] | None
    message: str
    code: UserErrorCode  # type: ignore[valid-type]


def user_error(exc: LoyaltyError) -> UserError:
    return UserError(
        field=exc.field.split(".") if exc.field else None, message=exc.message, code=exc.code
    )


async def or_user_errors(payload_type: Callable[..., T], work: Awaitable[T]) -> T:
    """``work``'s payload; a domain error it raises as ``payload_type(user_errors=[...])``."""
    try:
        return await work
    except LoyaltyError as exc:
        return payload_type(user_errors=[user_error(exc)])


def payload(
    payload_type: Callable[..., T],
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Turn a domain error raised by a mutation into ``payload_type(user_errors=[...])``."""

    def decorate(resolver: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(resolver)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return await or_user_errors(payload_type, resolver(*args, **kwargs))

        return wrapper

    return decorate
