"""Reading values out of a platform's JSON body, each checked for its type.

A value of the wrong type raises ``InvalidInput`` naming the field as the body spells it
(``line_items[2].price_set.shop_money.amount``), so a parked delivery says what was wrong.
Bodies are parsed with ``parse_float=Decimal``: ids stay exact integers and amounts exact
decimals; nothing goes through a float.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from loyalty.errors import ErrorCode, InvalidInput
from loyalty.members import EnrollInput
from loyalty.money import from_cents, to_cents

T = TypeVar("T")


def bad(field: str, message: str, code: ErrorCode = ErrorCode.INVALID) -> InvalidInput:
    return InvalidInput(f"{field} {message}", field=field, code=code)


def required(value: T | None, field: str) -> T:
    if value is None:
        raise bad(field, "is required")
    return value


def text(value: object, field: str) -> str | None:
    """A string, or None when the key is absent or null."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(field, "must be a string")
    return value


def identifier(value: object, field: str) -> str | None:
    """An integer id (exact at any size) or a non-empty string id, as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    found = text(value, field)
    return found if found and found.strip() else None


def flag(value: object, field: str) -> bool:
    """A JSON boolean; absent or null is false."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad(field, "must be true or false")
    return value


def amount(value: object, field: str) -> Decimal | None:
    """A numeric string or a JSON number, checked by the one parser of money."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise bad(field, "must be a number or a numeric string", ErrorCode.INVALID_AMOUNT)
    return from_cents(to_cents(value, field=field))


def quantity(value: object, field: str) -> int:
    """A JSON integer; its bounds are the domain's."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(field, "must be an integer", ErrorCode.INVALID_QUANTITY)
    return value


def moment(value: object, field: str) -> datetime | None:
    """An ISO 8601 date-time; its bounds are the domain's."""
    found = text(value, field)
    if found is None:
        return None
    try:
        return datetime.fromisoformat(found)
    except ValueError:
        raise bad(field, "must be an ISO 8601 date-time", ErrorCode.INVALID_DATE) from None


def obj(value: object, field: str) -> dict[str, Any] | None:
    """A JSON object, or None when absent or null."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad(field, "must be an object")
    return value


def objects(value: object, field: str) -> list[tuple[str, dict[str, Any]]]:
    """A list of objects (absent or null: empty), each with its field path."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad(field, "must be a list of objects")
    items = [(f"{field}[{i}]", item) for i, item in enumerate(value)]
    for at, item in items:
        if not isinstance(item, dict):
            raise bad(at, "must be an object")
    return items


def enrolment(external_id: str, person: dict[str, Any], at: str) -> EnrollInput:
    """An enrolment from a platform's person object (``email``, ``first_name``, ``last_name``)
    found at ``at`` in the body (field names in errors are prefixed with it)."""
    prefix = f"{at}." if at else ""
    names = [
        text(person.get("first_name"), f"{prefix}first_name"),
        text(person.get("last_name"), f"{prefix}last_name"),
    ]
    name = " ".join(n.strip() for n in names if n and n.strip())
    return EnrollInput(
        external_id=external_id,
        email=(text(person.get("email"), f"{prefix}email") or "").strip(),
        name=name or None,
    )
