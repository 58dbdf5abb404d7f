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


def redact_value(
    value: Any,
    person: Person,
    replacement: str,
    key: str | None = None,
    *,
    everywhere: bool = False,
) -> Any:
    """``value`` (JSON data) with the person's values replaced; its customer id by
    ``replacement`` where a key says it is one (with ``everywhere``, wherever it appears: the
    data is known to be about the person)."""
    if isinstance(value, Mapping):
        result = {}
        for k, v in value.items():
            if key == "customer" and k == "id" and str(v) == person.external_id:
                result[k] = replacement
            else:
                result[k] = redact_value(v, person, replacement, str(k), everywhere=everywhere)
        return result
    if isinstance(value, list):
        return [redact_value(v, person, replacement, key, everywhere=everywhere) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if str(value) == person.external_id and (everywhere or key in CUSTOMER_ID_KEYS):
        return replacement
    if isinstance(value, str):
        if value == person.external_id:
            return replacement
        if everywhere or any(n in value.lower() for n in person.needles()):
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


def names_customer(value: Any, person: Person, topic: str | None = None, key: str = "") -> bool:
    """Whether JSON data names the person's customer id where an id of a customer goes: a
    customer id key, a customer object's ``id``, an object typed ``customer``, a Shopify
    customer gid, or the top-level ``id`` of a delivery whose topic is about customers."""
    ext = person.external_id
    if isinstance(value, Mapping):
        if str(value.get("id")) == ext and (
            key == "customer"
            or value.get("type") == "customer"
            or (key == "" and topic is not None and "customer" in topic)
        ):
            return True
        return any(names_customer(v, person, topic, str(k)) for k, v in value.items())
    if isinstance(value, list):
        return any(names_customer(v, person, topic, key) for v in value)
    if isinstance(value, bool) or value is None:
        return False
    if key in CUSTOMER_ID_KEYS and str(value) == ext:
        return True
    return isinstance(value, str) and value == f"gid://shopify/Customer/{ext}"


def redact_text(
    text: str, person: Person, replacement: str, *, whole: bool = False, topic: str | None = None
) -> str:
    """Stored text with the person's values replaced: JSON text value by value. With
    ``whole`` (a stored body: a platform delivery, a guest order), a body that names the person
    (``topic`` tells what it is about) loses every mention of the customer id and everything
    under :data:`PERSON_KEYS`."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict | list):
        cleaned = redact_value(data, person, replacement)
        about = cleaned != data or (whole and names_customer(data, person, topic))
        if not about:
            return text
        if whole:
            cleaned = redact_value(cleaned, person, replacement, everywhere=True)
            cleaned = forget_person_keys(cleaned)
        return json.dumps(cleaned)
    return person.replace_in(text, replacement)
