"""Codes people read aloud and type: coupon codes and referral codes, drawn with ``secrets``
from one 31-symbol alphabet without 0/O, 1/I/L."""

from __future__ import annotations

import re
import secrets

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# 16 symbols are 79 bits, printed in groups of four.
CODE_LENGTH = 16
_CODE_CLEAN = re.compile(r"[\s-]")


def random_code(length: int) -> str:
    """``length`` symbols of the alphabet, each drawn with ``secrets``."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def new_code() -> str:
    """A fresh coupon code, ``XXXX-XXXX-XXXX-XXXX``."""
    raw = random_code(CODE_LENGTH)
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalize_code(code: str) -> str:
    """A typed coupon code in its printed form, or "" when it cannot be one."""
    raw = _CODE_CLEAN.sub("", code or "").upper()
    if len(raw) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in raw):
        return ""
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))
