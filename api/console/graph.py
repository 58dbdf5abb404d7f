"""The console's calls into the GraphQL schema, in-process, as the admin: the same resolvers,
rules and validation messages as ``POST /graphql``, without an HTTP round trip."""

from __future__ import annotations

import hashlib
from typing import Any

import strawberry
from starlette.requests import Request

from api.console import session
from api.context import Context, Role


class GraphQLFailed(Exception):
    """The schema answered with errors (a bug of the console's document or an unexpected
    failure, already logged and masked by the schema)."""


async def run(request: Request, document: str, variables: dict[str, Any] | None = None) -> Any:
    """``data`` of one operation executed as the admin; GraphQLFailed on errors."""
    schema: strawberry.Schema = request.app.state.schema
    settings = request.app.state.settings
    signed_in = session.current(settings, request)
    if signed_in is not None:
        # The audit log names the console session that made a change (not only the admin key).
        digest = hashlib.sha256(signed_in.nonce.encode()).hexdigest()[:16]
        request.state.audit_actor = f"console session {digest}"
    context = Context(settings, Role.ADMIN, None, request, None)
    result = await schema.execute(document, variable_values=variables, context_value=context)
    if result.errors:
        raise GraphQLFailed("; ".join(e.message for e in result.errors))
    return result.data


def field_errors(user_errors: list[dict[str, Any]], names: set[str]) -> dict[str, str]:
    """``userErrors`` keyed by the form field they name (the last path element); an error
    about no field of the form goes under ``""`` (shown above the form)."""
    out: dict[str, str] = {}
    for error in user_errors:
        path = error.get("field") or []
        name = path[-1] if path and path[-1] in names else ""
        out.setdefault(name, error["message"])
    return out
