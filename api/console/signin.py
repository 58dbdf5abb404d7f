"""Sign in with the admin key, sign out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from api.console import session
from api.console.web import MAX_FORM_FIELDS, redirect, refuse, render, settings_of

HOME = "/console/overview"


def _next(target: str) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    ok = target.startswith("/console/") and not target.startswith("/console//")
    return target if ok and "\\" not in target else HOME


async def sign_in(request: Request) -> Response:
    """The sign-in form (GET) and the check of the key (POST)."""
    target = _next(request.query_params.get("next", HOME))
    if request.method == "GET":
        if session.current(settings_of(request), request) is not None:
            return redirect(target)
        return render(request, "sign_in.html", next=target, error="")
    if not session.same_origin(request):
        return refuse(request, 403, "This sign-in came from another site and was refused.")
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    key = str(form.get("key", ""))
    if not session.is_admin_key(settings_of(request), key):
        return render(
            request,
            "sign_in.html",
            status_code=401,
            next=target,
            error="That is not the admin key.",
        )
    response = redirect(_next(str(form.get("next", HOME))))
    session.start(settings_of(request), response, request)
    return response


async def sign_out(request: Request) -> Response:
    """End the session (a POST with the CSRF token, so another site cannot sign you out)."""
    current = session.current(settings_of(request), request)
    if current is not None:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
        if not session.csrf_ok(current, form.get(session.CSRF_FIELD)):  # type: ignore[arg-type]
            return refuse(request, 403, "This form has expired: reload the page and try again.")
    response = redirect("/console/sign-in")
    session.end(response, request)
    return response
