"""The caller's role from the Authorization header."""

from __future__ import annotations

import hmac

from api.context import Role
from loyalty.members import tokens
from loyalty.settings import Settings


class Unauthenticated(Exception):
    """A credential was sent but it is wrong or expired: answer 401."""


async def authenticate(header: str | None, settings: Settings) -> tuple[Role, int | None]:
    """Admin key, storefront key or member token (valid and not revoked); no header is the
    public role."""
    if not header:
        return Role.PUBLIC, None
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("use Authorization: Bearer <key or token>")
    credential = credential.strip()
    if hmac.compare_digest(credential.encode(), settings.admin_key.value.encode()):
        return Role.ADMIN, None
    if hmac.compare_digest(credential.encode(), settings.storefront_key.value.encode()):
        return Role.STOREFRONT, None
    try:
        return Role.MEMBER, await tokens.check(credential, settings)
    except tokens.InvalidToken as exc:
        raise Unauthenticated("invalid or expired token") from exc
