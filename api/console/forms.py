"""Forms of the console: which inputs a change has, how a browser's strings become the
GraphQL input's values, and the few checks of shape a string needs before it is a number or a
date. Every rule about what a value may be stays in the domain: its userErrors come back next
to the field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

MAX_INT = 2**31 - 1


@dataclass(frozen=True)
class Field:
    name: str  # the GraphQL input field
    label: str
    kind: str = "text"  # text, int, decimal, datetime, choice, flag, list, textarea
    required: bool = False
    choices: tuple[str, ...] = ()
    hint: str = ""

    @property
    def input_type(self) -> str:
        return {"int": "number", "datetime": "datetime-local"}.get(self.kind, "text")


def choices(enum: type[Enum]) -> tuple[str, ...]:
    """The GraphQL names of an enum of the models (strawberry uses the member names)."""
    return tuple(member.name for member in enum)


@dataclass
class Parsed:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)


def _one(f: Field, text: str) -> Any:
    """The input value of one non-empty string; ValueError with the message to show."""
    if f.kind == "int":
        try:
            number = int(text)
        except ValueError:
            raise ValueError("enter a whole number") from None
        if abs(number) > MAX_INT:
            raise ValueError("this number is too large")
        return number
    if f.kind == "decimal":
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError("enter a number such as 12.50") from None
        if not amount.is_finite():
            raise ValueError("enter a number such as 12.50")
        return str(amount)
    if f.kind == "datetime":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("enter a date and time") from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
    if f.kind == "choice":
        if text not in f.choices:
            raise ValueError("choose one of the options")
        return text
    if f.kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def parse(fields: Sequence[Field], form: Mapping[str, Any]) -> Parsed:
    """The input for these fields from a submitted form; empty optional fields are left out."""
    parsed = Parsed()
    for f in fields:
        if f.kind == "flag":
            parsed.values[f.name] = form.get(f.name) == "on"
            parsed.raw[f.name] = "on" if parsed.values[f.name] else ""
            continue
        text = str(form.get(f.name, "")).strip()
        parsed.raw[f.name] = text
        if not text:
            if f.required:
                parsed.errors[f.name] = f"{f.label} is required"
            continue
        try:
            parsed.values[f.name] = _one(f, text)
        except ValueError as exc:
            parsed.errors[f.name] = str(exc)
    return parsed


def shown(fields: Sequence[Field], record: Mapping[str, Any] | None) -> dict[str, str]:
    """A record's values as a form shows them (for editing)."""
    if not record:
        return {f.name: "on" if f.kind == "flag" else "" for f in fields}
    out: dict[str, str] = {}
    for f in fields:
        value = record.get(f.name)
        if f.kind == "flag":
            out[f.name] = "on" if value else ""
        elif value is None:
            out[f.name] = ""
        elif f.kind == "list":
            out[f.name] = ", ".join(str(v) for v in value)
        elif f.kind == "datetime":
            out[f.name] = str(value)[:16]
        else:
            out[f.name] = str(value)
    return out
