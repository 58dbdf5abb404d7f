"""What every console page shares: templates, the signed-in guard, CSRF checks, responses."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from api.console import session
from api.console.graph import GraphQLFailed
from api.logs import refused
from loyalty.settings import Settings

log = logging.getLogger(__name__)
MAX_FORM_FIELDS = 100

ENV = Environment(
    loader=PackageLoader("api.console", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

# No inline script runs (chart data travels in JSON blocks); inline styles only for the
# heatmap's cell colours; no framing, no form posting to another site.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Handler = Callable[[Request], Awaitable[Response]]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    """A page (or, for an htmx request, the fragment ``values['fragment']`` names)."""
    current = request.scope.get("console_session")
    settings = settings_of(request)
    html = ENV.get_template(template).render(
        request=request,
        csrf=current.csrf if current else "",
        signed_in=current is not None,
        program_name=settings.program_name,
        points_name=settings.points_name,
        htmx=request.headers.get("hx-request") == "true",
        **values,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def redirect(url: str) -> Response:
    """303 See Other: after a change, the browser loads the page with a GET."""
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def refuse(request: Request, status: int, message: str) -> Response:
    refused(status, request.url.path, message)
    return render(request, "refused.html", status_code=status, message=message)


def page(handler: Handler) -> Handler:
    """A page for a signed-in admin; others are sent to sign in. Unexpected failures of the
    schema show an error page (the detail is in the log)."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        current = session.current(settings_of(request), request)
        if current is None:
            target = quote(
                request.url.path + ("?" + request.url.query if request.url.query else "")
            )
            return redirect(f"/console/sign-in?next={target}")
        request.scope["console_session"] = current
        try:
            return await handler(request)
        except GraphQLFailed as exc:
            log.error("console page %s failed: %s", request.url.path, exc)
            return render(request, "refused.html", status_code=500, message="Something went wrong.")

    return guarded


def change(handler: Callable[[Request, FormData], Awaitable[Response]]) -> Handler:
    """A change (POST) by a signed-in admin: refused unless the session is valid, the form
    carries its CSRF token and the request does not come from another site."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        current = session.current(settings_of(request), request)
        if current is None:
            return refuse(request, 401, "Your session has ended: sign in again.")
        if not session.same_origin(request):
            return refuse(request, 403, "This change came from another site and was refused.")
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
        if not session.csrf_ok(current, form.get(session.CSRF_FIELD)):  # type: ignore[arg-type]
            return refuse(request, 403, "This form has expired: reload the page and try again.")
        request.scope["console_session"] = current
        try:
            return await handler(request, form)
        except GraphQLFailed as exc:
            log.error("console change %s failed: %s", request.url.path, exc)
            return render(request, "refused.html", status_code=500, message="Something went wrong.")

    return guarded
