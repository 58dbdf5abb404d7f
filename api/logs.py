"""What the API writes to the log about failed requests, and what production hides.

A refusal the caller caused (bad key, malformed or invalid query, a forbidden field, a domain
error) is expected: one debug line, control characters escaped, no traceback, so a small
request cannot fill the log or move the terminal's cursor. An unexpected error (what
``MaskErrors`` hides from the client) is logged at error level with its traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from api.context import VisibleError
from loyalty.errors import LoyaltyError

log = logging.getLogger(__name__)
MAX_LOGGED_CHARS = 300

# C0 and C1 controls, DEL, line and paragraph separators, and the bidirectional overrides
# (which can make a log line read differently from what it holds).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SUGGESTION = re.compile(r"\s*Did you mean\b.*", re.DOTALL)


def escaped(text: str, limit: int = MAX_LOGGED_CHARS) -> str:
    """``text`` fit for one log line: control characters as escapes, cut at ``limit``."""
    text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return text if len(text) <= limit else text[:limit] + "..."


def refused(status: int, path: str, message: str) -> None:
    """Log a request answered with a client error: one debug line."""
    log.debug("%d %s: %s", status, escaped(path), escaped(message))


def unexpected(error: GraphQLError) -> bool:
    """Whether an error is a failure of ours (masked for the client) and not a refusal.

    graphql-core's own errors about the request (a variable of the wrong type or enum value)
    arrive wrapped with the GraphQLError as their cause: those are refusals too.
    """
    original = error.original_error
    return original is not None and not isinstance(
        original, VisibleError | LoyaltyError | GraphQLError
    )


def without_suggestions(message: str) -> str:
    """The message without graphql-core's "Did you mean ...?", which names schema members."""
    return _SUGGESTION.sub("", message)


class Schema(strawberry.Schema):
    """strawberry's schema with the log policy above; in production, no name suggestions."""

    def __init__(self, *args: Any, production: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.production = production

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # strawberry calls this for every error before the response is built (and before
        # MaskErrors replaces the unexpected ones), so a message changed here is what is sent.
        for error in errors:
            if self.production:
                error.message = without_suggestions(error.message)
            where = ".".join(str(key) for key in error.path or ()) or "query"
            if unexpected(error):
                log.error(
                    "GraphQL %s failed: %s",
                    where,
                    escaped(error.message),
                    exc_info=error.original_error,
                )
            else:
                log.debug("GraphQL %s refused: %s", where, escaped(error.message))
