"""Everything held about one member, as one JSON-ready document.

The tables come from the models, not from a list: every model that references a member (a
foreign key to ``Member``, or a ``member_id`` column where rows are written in bulk without a
constraint), then every model that references rows of those (an order's lines, a debit's lot
uses, an event's deliveries), to any depth. A table added later is exported without a change
here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.relational import ForeignKeyFieldInstance, OneToOneFieldInstance
from tortoise.models import Model

from loyalty import db
from loyalty.events.outbox import jsonable
from loyalty.members import lookup
from loyalty.privacy import audit
from models import AuditEntry, Member

MEMBER_COLUMN = "member_id"
"""The column name of a reference to a member kept without a foreign key."""


@dataclass(frozen=True)
class Link:
    """How the rows of ``model`` about a member are found: ``column`` holds the id of the
    member itself (``parent`` None) or of a ``parent`` row that is about the member."""

    model: type[Model]
    column: str
    parent: type[Model] | None


def _references(model: type[Model]) -> list[tuple[str, type[Model]]]:
    """(column, referenced model) of each foreign key and one-to-one key of a model."""
    found = []
    for name in (*model._meta.fk_fields, *model._meta.o2o_fields):
        field = model._meta.fields_map[name]
        if isinstance(field, ForeignKeyFieldInstance | OneToOneFieldInstance):
            found.append((field.source_field or f"{name}_id", field.related_model))
    return found


def member_links() -> list[Link]:
    """How every table with rows about a member reaches the member, parents before children."""
    models = [m for m in Tortoise.apps["models"].values() if m is not Member]
    links: list[Link] = []
    reached: set[type[Model]] = set()
    for model in models:
        for column, related in _references(model):
            if related is Member:
                links.append(Link(model, column, None))
                reached.add(model)
                break
        else:
            if MEMBER_COLUMN in model._meta.fields_db_projection.values():
                links.append(Link(model, MEMBER_COLUMN, None))
                reached.add(model)
    grown = True
    while grown:
        grown = False
        for model in models:
            if model in reached:
                continue
            for column, related in _references(model):
                if related in reached:
                    links.append(Link(model, column, related))
                    reached.add(model)
                    grown = True
                    break
    return links


async def linked_ids(
    conn: BaseDBAsyncClient, member_id: int, links: list[Link]
) -> dict[type[Model], list[Any]]:
    """The primary keys of each linked table's rows about the member."""
    ids: dict[type[Model], list[Any]] = {}
    for link in links:
        owner = [member_id] if link.parent is None else ids.get(link.parent, [])
        pk = link.model._meta.db_pk_column
        table = link.model._meta.db_table
        found: list[Any] = []
        for start in range(0, len(owner), 500):
            chunk = owner[start : start + 500]
            rows = await db.fetch(
                conn,
                f'SELECT "{pk}" AS pk FROM "{table}" WHERE "{link.column}" '
                f'IN ({db.in_list(len(chunk))}) ORDER BY "{pk}"',
                *chunk,
            )
            found += [row["pk"] for row in rows]
        ids[link.model] = found
    return ids


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON-ready data (ids as UUID text too)."""
    return {k: str(v) if isinstance(v, UUID) else jsonable(v) for k, v in row.items()}


async def _rows(conn: BaseDBAsyncClient, model: type[Model], pks: list[Any]) -> list[Any]:
    rows: list[Any] = []
    for start in range(0, len(pks), 500):
        chunk = pks[start : start + 500]
        found = await (
            model.filter(pk__in=chunk).using_db(conn).order_by(model._meta.pk_attr).values()
        )
        rows += [_plain(row) for row in found]
    return rows


async def export_member(member_id: int) -> dict[str, Any]:
    """The member's profile and every row about it, by table; its audit trail too."""
    await lookup.get(member_id)  # NotFound before anything is read
    conn = db.connection()
    links = member_links()
    ids = await linked_ids(conn, member_id, links)
    tables = {
        link.model._meta.db_table: await _rows(conn, link.model, ids[link.model]) for link in links
    }
    profile = (await Member.filter(id=member_id).values())[0]
    referees = (
        await Member.filter(referred_by_id=member_id).order_by("id").values_list("id", flat=True)
    )
    trail = (
        await AuditEntry.filter(target=audit.target_name("Member", member_id))
        .order_by("id")
        .values()
    )
    return {
        "exportedAt": datetime.now(UTC).isoformat(),
        "member": _plain(profile) | {"referees": list(referees)},
        "tables": tables,
        "auditLog": [_plain(row) for row in trail],
    }


async def export_by_external_id(external_id: str) -> dict[str, Any]:
    """:func:`export_member` of the member with this shop customer id."""
    member = await lookup.by_external_id(external_id, field="externalId")
    return await export_member(member.id)
