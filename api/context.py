"""Who is calling, and what the resolvers need to serve them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from strawberry.types import Info as StrawberryInfo

from loyalty import rules
from loyalty.settings import Settings


class Role(Enum):
    ADMIN = "admin"
    STOREFRONT = "storefront"
    MEMBER = "member"
    PUBLIC = "public"


@dataclass
class Context:
    settings: Settings
    role: Role
    member_id: int | None = None
    request: Any = None
    response: Any = None
    _program: rules.ProgramConfig | None = field(default=None, init=False, repr=False)
    _program_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    async def program(self) -> rules.ProgramConfig:
        """The programme's configuration, looked up once per request (the process's copy)."""
        async with self._program_lock:
            if self._program is None:
                self._program = await rules.program_config()
        return self._program


Info = StrawberryInfo[Context, None]


class VisibleError(Exception):
    """An error whose message the client may see (everything else is masked)."""


class Forbidden(VisibleError):
    def __init__(self, message: str = "not authorised for this operation") -> None:
        super().__init__(message)


def require(info: Info, *roles: Role) -> Context:
    """The context, when the caller has one of these roles; Forbidden otherwise."""
    context = info.context
    if context.role not in roles:
        raise Forbidden()
    return context


STAFF = (Role.ADMIN, Role.STOREFRONT)
