"""The console's sign-in: a signed, expiring session cookie and a CSRF token bound to it.

The cookie holds ``expiry.nonce.signature``: nothing secret, signed with a key derived from the
token-signing secret and the admin key (a new admin key signs everyone out). It is HttpOnly,
SameSite=Strict, Secure when the request came over TLS, and expires after ``SESSION_SECONDS``.
Every change (a POST) must carry the CSRF token, an HMAC of the session's nonce; a POST whose
Origin header names another site is refused as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from loyalty.settings import Settings

COOKIE = "loyalty_console"
SESSION_SECONDS = 8 * 3600
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Session:
    nonce: str
    expires: int
    csrf: str


def _key(settings: Settings) -> bytes:
    material = f"console\x00{settings.secret.value}\x00{settings.admin_key.value}"
    return hashlib.sha256(material.encode()).digest()


def _mac(settings: Settings, message: str) -> str:
    digest = hmac.new(_key(settings), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def is_admin_key(settings: Settings, key: str) -> bool:
    """Whether ``key`` is the admin key (constant time)."""
    return hmac.compare_digest(key.strip().encode(), settings.admin_key.value.encode())


def start(
    settings: Settings, response: Response, request: Request, now: float | None = None
) -> None:
    """Sign the browser in: set a fresh session cookie on ``response``."""
    expires = int(now if now is not None else time.time()) + SESSION_SECONDS
    body = f"{expires}.{secrets.token_urlsafe(18)}"
    response.set_cookie(
        COOKIE,
        f"{body}.{_mac(settings, 'session:' + body)}",
        max_age=SESSION_SECONDS,
        path="/console",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


def end(response: Response, request: Request) -> None:
    """Sign the browser out: expire the cookie."""
    response.delete_cookie(
        COOKIE,
        path="/console",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


def current(settings: Settings, request: Request, now: float | None = None) -> Session | None:
    """The request's valid, unexpired session, or None."""
    raw = request.cookies.get(COOKIE, "")
    expiry, _, rest = raw.partition(".")
    nonce, _, signature = rest.rpartition(".")
    if not (expiry.isdigit() and nonce and signature):
        return None
    expected = _mac(settings, f"session:{expiry}.{nonce}")
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    if int(expiry) <= (now if now is not None else time.time()):
        return None
    return Session(nonce, int(expiry), _mac(settings, f"csrf:{nonce}"))


def same_origin(request: Request) -> bool:
    """False when the request says it came from a page of another site."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


def csrf_ok(session: Session, sent: str | None) -> bool:
    """Whether a change carries this session's CSRF token."""
    return bool(sent) and hmac.compare_digest(str(sent).encode(), session.csrf.encode())
