"""The audit log: one append-only entry per change made through the API.

The transport records every state-changing operation generically (who, which operation, on
what, with which input); the domain adds what it knows best, the fields a change moved from
one value to another, by calling :func:`changed` while an operation is being recorded
(:func:`collecting`). Outside an audited operation :func:`changed` does nothing.

Entries hold no key (a key is named by its fingerprint) and no personal value in plain text:
input values under personal keys (:data:`PERSONAL_KEYS`) are kept as keyed fingerprints, so an
entry can be matched against a known value but not read back, and erasing a member leaves
nothing of it in the log.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from loyalty import db
from loyalty.events.outbox import jsonable
from loyalty.paging import keyset_page
from loyalty.settings import Settings
from models import AuditEntry

PERSONAL_KEYS = frozenset(
    {
        "email",
        "name",
        "birthday",
        "phone",
        "externalId",
        "memberExternalId",
        "referralCode",
        "shopperId",
    }
)
"""Input keys whose values are personal data: kept as fingerprints, never in plain text."""
MAX_TEXT = 500
"""Longer input strings are cut (an audit entry says what was asked, not every byte of it)."""

_changes: ContextVar[list[dict[str, Any]] | None] = ContextVar("audit_changes", default=None)


def target(row: Model) -> str:
    """How an entry names the row it changed: ``Member:12``."""
    return target_name(type(row).__name__, row.pk)


def target_name(type_name: str, pk: Any) -> str:
    """How an entry names a thing by type and primary key: ``Member:12``."""
    return f"{type_name}:{pk}"


def changed(what: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    """Report the fields of ``what`` whose values differ between ``before`` and ``after``."""
    collected = _changes.get()
    if collected is None:
        return
    for field, new in after.items():
        old = before.get(field)
        if old != new:
            collected.append(
                {"target": what, "field": field, "before": jsonable(old), "after": jsonable(new)}
            )


def snapshot(row: Model, names: Iterable[str] | None = None) -> dict[str, Any]:
    """The current values of a row's columns (or of these fields): what :func:`changed`
    compares; a row not saved yet has none."""
    if row.pk is None:
        return {}
    chosen = row._meta.fields_db_projection if names is None else names
    return {name: getattr(row, name, None) for name in chosen if name != row._meta.pk_attr}


def saved(row: Model, before: Mapping[str, Any]) -> None:
    """Report what saving ``row`` changed, against its :func:`snapshot` from before."""
    changed(target(row), before, snapshot(row))


@contextmanager
def collecting() -> Iterator[list[dict[str, Any]]]:
    """Collect the changes the domain reports until the block ends."""
    collected: list[dict[str, Any]] = []
    token = _changes.set(collected)
    try:
        yield collected
    finally:
        _changes.reset(token)


def fingerprint(value: str, settings: Settings) -> str:
    """A keyed digest of a personal value: equal values match, the value cannot be read."""
    digest = hmac.new(settings.secret.value.encode(), value.encode(), hashlib.sha256)
    return "hmac:" + digest.hexdigest()[:16]


def redacted(value: Any, settings: Settings, key: str | None = None) -> Any:
    """An operation's input as it is kept: personal values fingerprinted, long text cut."""
    if isinstance(value, Mapping):
        return {str(k): redacted(v, settings, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v, settings, key) for v in value]
    value = jsonable(value)
    if value is not None and key in PERSONAL_KEYS:
        return fingerprint(str(value), settings)
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "..."
    return value


async def record(
    *,
    actor: str,
    operation: str,
    target: str | None,
    input: dict[str, Any],
    changes: list[dict[str, Any]],
    conn: BaseDBAsyncClient | None = None,
) -> None:
    """Append one entry (one INSERT)."""
    await db.insert(
        conn or db.connection(),
        AuditEntry,
        [
            {
                "at": datetime.now(UTC),
                "actor": actor[:64],
                "operation": operation[:64],
                "target": target[:128] if target else None,
                "input": input,
                "changes": changes,
            }
        ],
        returning="",
    )


@dataclass(frozen=True)
class Filter:
    target: str | None = None
    operation: str | None = None
    since: datetime | None = None


async def page(where: Filter, first: int, before_id: int | None) -> tuple[list[AuditEntry], bool]:
    """A page of entries, newest first, older than the cursor; and whether more follow."""
    query = AuditEntry.all()
    if where.target is not None:
        query = query.filter(target=where.target)
    if where.operation is not None:
        query = query.filter(operation=where.operation)
    if where.since is not None:
        query = query.filter(at__gte=where.since)
    return await keyset_page(query, first, before_id, newest_first=True)
