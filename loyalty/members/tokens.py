"""Member tokens: signed, expiring, naming one member and the token version it was issued
under.

Raising a member's ``token_version`` (:func:`revoke`) revokes every token issued before. A
request checks the version its token carries against the process's cached view
(:class:`Revocations`): a dictionary lookup, and at most one query every
``token_revocation_seconds`` that reads the revocations written since the last one. The process
that revokes updates its view at once; other processes see it within that interval.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.errors import ErrorCode, NotFound
from loyalty.privacy import audit
from loyalty.settings import Settings

ALGORITHM = "HS256"
AUDIENCE = "loyalty-member"


class InvalidToken(Exception):
    """The token is malformed, forged, expired or revoked."""


def issue(
    member_id: int, settings: Settings, now: datetime | None = None, version: int = 0
) -> tuple[str, datetime]:
    """A token for this member (at its current token ``version``) and the moment it expires."""
    now = now or datetime.now(UTC)
    expires = now + timedelta(seconds=settings.token_ttl_seconds)
    claims = {"sub": str(member_id), "aud": AUDIENCE, "iat": now, "exp": expires, "ver": version}
    return jwt.encode(claims, settings.secret.value, algorithm=ALGORITHM), expires


def claims(token: str, settings: Settings) -> tuple[int, int]:
    """The member id and token version a validly signed, unexpired token names."""
    try:
        decoded = jwt.decode(
            token,
            settings.secret.value,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "aud"]},
        )
        version = decoded.get("ver", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidToken("ver must be an integer")
        return int(decoded["sub"]), version
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc


def verify(token: str, settings: Settings) -> int:
    """The member id a validly signed token names (its version is not checked here)."""
    return claims(token, settings)[0]


@dataclass
class Revocations:
    """This process's view of raised token versions, followed through ``token_revocations``."""

    versions: dict[int, int] = field(default_factory=dict)
    last_id: int = 0
    refreshed_at: float = float("-inf")
    generation: int = -1

    async def version(self, member_id: int, settings: Settings) -> int:
        """The member's current token version (0 when never raised)."""
        stale = time.monotonic() - self.refreshed_at >= settings.token_revocation_seconds
        if stale or self.generation != db.generation():
            await self._refresh()
        return self.versions.get(member_id, 0)

    def raised(self, member_id: int, version: int) -> None:
        """Record a revocation this process has just committed."""
        if version > self.versions.get(member_id, 0):
            self.versions[member_id] = version

    async def _refresh(self) -> None:
        # Two refreshes at once are harmless: each applies what it read, keeping the highest.
        if self.generation != db.generation():
            self.versions, self.last_id, self.generation = {}, 0, db.generation()
        rows = await db.fetch(
            db.connection(),
            "SELECT id, member_id, version FROM token_revocations WHERE id > $1 ORDER BY id",
            self.last_id,
        )
        for row in rows:
            self.raised(int(row["member_id"]), int(row["version"]))
            self.last_id = max(self.last_id, int(row["id"]))
        self.refreshed_at = time.monotonic()


REVOCATIONS = Revocations()


async def check(token: str, settings: Settings) -> int:
    """The member a token names, when it is valid and not revoked."""
    member_id, version = claims(token, settings)
    if version < await REVOCATIONS.version(member_id, settings):
        raise InvalidToken("the token was revoked")
    return member_id


async def revoke(conn: BaseDBAsyncClient, member_id: int) -> int:
    """Raise the member's token version inside the caller's transaction; the new version.

    Call :func:`revoked` with it once the transaction has committed."""
    rows = await db.fetch(
        conn,
        "UPDATE members SET token_version = token_version + 1 WHERE id = $1 "
        "RETURNING token_version",
        member_id,
    )
    if not rows:
        raise NotFound("member not found", field="memberId", code=ErrorCode.MEMBER_NOT_FOUND)
    version = int(rows[0]["token_version"])
    await db.execute(
        conn,
        "INSERT INTO token_revocations (member_id, version, created_at) VALUES ($1, $2, $3)",
        member_id,
        version,
        datetime.now(UTC),
    )
    return version


def revoked(member_id: int, version: int) -> None:
    """Make a committed revocation effective in this process at once."""
    REVOCATIONS.raised(member_id, version)


async def revoke_all(member_id: int) -> int:
    """Revoke every token of a member (its own transaction); the new version."""
    version = await db.atomic(lambda conn: revoke(conn, member_id))
    revoked(member_id, version)
    audit.changed(
        audit.target_name("Member", member_id),
        {"token_version": version - 1},
        {"token_version": version},
    )
    return version
