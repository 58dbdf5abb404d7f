"""Every state-changing operation of the API lands in the audit log, generically.

:func:`audit_fields` puts :class:`Audited` on every field of the Mutation type (and on the
queries named to it, such as exportMember: reading a person's data is accounted for too), so an
operation added later is audited without code of its own. A call that answers userErrors (or
fails) changed nothing and is not recorded; one that succeeds appends one entry (one INSERT):
actor (key fingerprint, or the member of a member token), operation, target, the input with
personal values fingerprinted, and the field changes the domain reported while it ran.

The entry is written after the operation's own transaction has committed (the transport does
not hold the domain's transactions): a crash in between loses the entry, never the change, and
a failure to write it is logged rather than answered as an error. Mutations are async
resolvers (they all reach the database), which is what the extension wraps.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import re
from collections.abc import Iterable
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.utils.str_converters import to_camel_case

from api.context import Context, Info, Role
from loyalty.privacy import audit

log = logging.getLogger(__name__)
EXEMPT: dict[str, str] = {}
"""Mutation fields deliberately not audited, each with the reason (none so far)."""
_GLOBAL_ID = re.compile(r"^[A-Za-z]+:\d{1,18}$")
_TARGET_ARGUMENTS = ("id", "member_id", "memberId")


def actor(context: Context) -> str:
    """Who called: a key by its fingerprint (never the key), a member by its id, a change made
    in the console by its session (a digest of the session's nonce; it was signed in with the
    admin key)."""
    if context.role is Role.ADMIN:
        state = getattr(context.request, "state", None)
        console = getattr(state, "audit_actor", None) if state is not None else None
        return str(console) if console else f"admin {context.settings.admin_key.fingerprint()}"
    if context.role is Role.STOREFRONT:
        return f"storefront {context.settings.storefront_key.fingerprint()}"
    if context.role is Role.MEMBER:
        return f"member {audit.target_name('Member', context.member_id)}"
    return "public"


def plain(value: Any) -> Any:
    """Arguments as JSON-ready data, keyed by their GraphQL names."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            to_camel_case(f.name): plain(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        return {to_camel_case(str(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def decoded(value: Any) -> str | None:
    """``Member:12`` from an opaque id of the API, None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        text = base64.urlsafe_b64decode((value + "=" * (-len(value) % 4)).encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return text if _GLOBAL_ID.match(text) and not text.startswith("cursor:") else None


def target(changes: list[dict[str, Any]], arguments: dict[str, Any], result: Any) -> str | None:
    """What the call acted on: the first thing the domain reported changing, else the id it
    named (``id``/``memberId``, at the top or in ``input``), else the object it returned."""
    if changes:
        return str(changes[0]["target"])
    places = [arguments, arguments.get("input") or {}]
    for place in places:
        if isinstance(place, dict):
            for name in _TARGET_ARGUMENTS:
                found = decoded(place.get(name))
                if found:
                    return found
    for value in _returned(result):
        found = decoded(getattr(value, "id", None))
        if found:
            return found
    return None


def _returned(result: Any) -> Iterable[Any]:
    definition = getattr(type(result), "__strawberry_definition__", None)
    if not isinstance(definition, StrawberryObjectDefinition):
        return []
    return [getattr(result, f.python_name, None) for f in definition.fields]


class Audited(FieldExtension):
    """Record a successful call of the field it is on in the audit log."""

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        with audit.collecting() as changes:
            result = await next_(source, info, **kwargs)
        if getattr(result, "user_errors", None):
            return result
        context = info.context
        arguments = plain(kwargs)
        try:
            await audit.record(
                actor=actor(context),
                operation=info.field_name,
                target=target(changes, arguments, result),
                input=audit.redacted(arguments, context.settings),
                changes=changes,
            )
        except Exception:
            # The change is committed: answering an error would invite a retry of it.
            log.exception("could not record %s in the audit log", info.field_name)
        return result


def audit_fields(type_: type, names: Iterable[str] | None = None) -> None:
    """Put :class:`Audited` on these fields of a strawberry type (all but :data:`EXEMPT` when
    no names are given); once per field, however often it is called."""
    definition: StrawberryObjectDefinition = type_.__strawberry_definition__  # type: ignore[attr-defined]
    chosen = set(names) if names is not None else None
    for field in definition.fields:
        name = field.graphql_name or to_camel_case(field.python_name)
        if chosen is not None and name not in chosen:
            continue
        if chosen is None and name in EXEMPT:
            continue
        if not any(isinstance(e, Audited) for e in field.extensions):
            field.extensions.append(Audited())


def is_audited(type_: type, name: str) -> bool:
    """Whether the field of this GraphQL name is audited."""
    definition: StrawberryObjectDefinition = type_.__strawberry_definition__  # type: ignore[attr-defined]
    for field in definition.fields:
        if (field.graphql_name or to_camel_case(field.python_name)) == name:
            return any(isinstance(e, Audited) for e in field.extensions)
    raise KeyError(name)
