"""Finding and replacing one person's data in stored text and JSON (used by erasure)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ERASED = "[erased]"
MIN_NAME = 3
"""Shorter names (and name parts) are not searched for in free text: they match too much."""
CUSTOMER_ID_KEYS = frozenset(
    {"customer_id", "customerId", "memberExternalId", "member_external_id"}
)
"""Keys whose value is a shop customer id (a platform's body, an event's payload)."""
PERSON_KEYS = frozenset(
    {
        "customer",
        "billing",
        "shipping",
        "billing_address",
        "shipping_address",
        "default_address",
        "addresses",
        "email",
        "contact_email",
        "phone",
        "first_name",
        "last_name",
        "note",
    }
)
"""In a platform body that is about the person, everything under these keys is theirs."""


@dataclass(frozen=True)
class Person:
    """The values that identify one member, as they were before erasure."""

    external_id: str
    email: str
    name: str | None

    def needles(self) -> list[str]:
        """Lower-case values searched for inside free text."""
        found = [self.email.strip().lower()] if self.email.strip() else []
        if self.name and len(self.name.strip()) >= MIN_NAME:
            found.append(self.name.strip().lower())
        return found

    def mentioned_in(self, text: str) -> bool:
        """Whether free text names the person (the customer id as a whole word)."""
        return bool(self._pattern().search(text))

    def _pattern(self) -> re.Pattern[str]:
        words = [rf"(?<![\w-]){re.escape(self.external_id)}(?![\w-])"]
        words += [re.escape(needle) for needle in self.needles()]
        return re.compile("|".join(words), re.IGNORECASE)

    def replace_in(self, text: str, replacement: str) -> str:
        """Free text with the customer id replaced by ``replacement``, e-mail and name by
        :data:`ERASED`."""

        def one(match: re.Match[str]) -> str:
            return replacement if match.group() == self.external_id else ERASED

        return self._pattern().sub(one, text)


def redact_value(value: Any, person: Person, replacement: str, key: str | None = None) -> Any:
    """``value`` (JSON data) with the person's values replaced; ids by ``replacement``."""
    if isinstance(value, Mapping):
        inside_customer = key == "customer"
        result = {}
        for k, v in value.items():
            if inside_customer and k == "id" and str(v) == person.external_id:
                result[k] = replacement
            else:
                result[k] = redact_value(v, person, replacement, str(k))
        return result
    if isinstance(value, list):
        return [redact_value(v, person, replacement, key) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if key in CUSTOMER_ID_KEYS and str(value) == person.external_id:
        return replacement
    if isinstance(value, str):
        if value == person.external_id:
            return replacement
        if person.needles() and any(n in value.lower() for n in person.needles()):
            return person.replace_in(value, replacement)
    return value


def forget_person_keys(value: Any, key: str | None = None) -> Any:
    """Everything under :data:`PERSON_KEYS` replaced (a body already known to be theirs)."""
    if key in PERSON_KEYS:
        return _blank(value)
    if isinstance(value, Mapping):
        return {k: forget_person_keys(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [forget_person_keys(v, key) for v in value]
    return value


def _blank(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    return value if value is None or isinstance(value, bool) else ERASED


def redact_text(text: str, person: Person, replacement: str, *, whole: bool = False) -> str:
    """Stored text with the person's values replaced: JSON text value by value (with
    ``whole``, everything under :data:`PERSON_KEYS` too, once it names the person)."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict | list):
        cleaned = redact_value(data, person, replacement)
        if cleaned == data:
            return text
        if whole:
            cleaned = forget_person_keys(cleaned)
        return json.dumps(cleaned)
    return person.replace_in(text, replacement)
