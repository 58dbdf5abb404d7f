"""Who is calling, and what the resolvers need to serve them."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from starlette.types import Scope
from strawberry.types import Info as StrawberryInfo

from loyalty import members
from loyalty.errors import ErrorCode, InvalidInput, NotFound
from loyalty.ops import guessing
from loyalty.programme import config
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
    _program: config.ProgramConfig | None = field(default=None, init=False, repr=False)
    _program_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    @property
    def client_address(self) -> str:
        """The caller's address (see ``client_address``); "unknown" outside HTTP."""
        return client_address(self.request.scope) if self.request is not None else "unknown"

    def shopper(self, shopper_id: str | None) -> str:
        """Whom a checkout call counts failed codes for (see ``loyalty.ops.guessing``)."""
        return guessing.shopper(self.role.value, self.member_id, shopper_id, self.client_address)

    def member_acted_on(self, named: int | None) -> int:
        """The member a member-or-admin call acts on: a member token's own (naming another
        member is MEMBER_NOT_FOUND, as if it did not exist), or the one an admin names."""
        if self.role == Role.MEMBER:
            own = self.member_id or 0
            if named is not None and named != own:
                raise NotFound(
                    "member not found", field="memberId", code=ErrorCode.MEMBER_NOT_FOUND
                )
            return own
        if named is None:
            raise InvalidInput("memberId is required", field="memberId")
        return named

    async def member_external_id(self, named: str | None) -> str | None:
        """The shop's id of the member a call is about: a member token's own, else the named."""
        if self.role != Role.MEMBER:
            return named
        return (await members.get(self.member_id or 0)).external_id

    async def program(self) -> config.ProgramConfig:
        """The programme's configuration, looked up once per request (the process's copy)."""
        async with self._program_lock:
            if self._program is None:
                self._program = await config.program_config()
        return self._program


def client_address(scope: Scope) -> str:
    """The address a request came from, as uvicorn reports it (it believes X-Forwarded-For
    only from the proxies in its FORWARDED_ALLOW_IPS). An IPv6 address counts by its /64, the
    block one subscriber holds."""
    client = scope.get("client")
    if not client:
        return "unknown"
    host = str(client[0])
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


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
