"""Member tokens: signed, expiring, naming one member."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from loyalty.settings import Settings

ALGORITHM = "HS256"
AUDIENCE = "loyalty-member"


class InvalidToken(Exception):
    """The token is malformed, forged or expired."""


def issue(member_id: int, settings: Settings, now: datetime | None = None) -> tuple[str, datetime]:
    """A token for this member and the moment it expires."""
    now = now or datetime.now(UTC)
    expires = now + timedelta(seconds=settings.token_ttl_seconds)
    claims = {"sub": str(member_id), "aud": AUDIENCE, "iat": now, "exp": expires}
    return jwt.encode(claims, settings.secret.value, algorithm=ALGORITHM), expires


def verify(token: str, settings: Settings) -> int:
    """The member id a valid token names."""
    try:
        claims = jwt.decode(
            token,
            settings.secret.value,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "aud"]},
        )
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc
