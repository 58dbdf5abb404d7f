"""Error codes: each one is raised somewhere, so the contract lists no code a client never gets."""

from __future__ import annotations

import re
from pathlib import Path

from loyalty.errors import ErrorCode

ROOT = Path(__file__).resolve().parents[2]


def test_every_error_code_is_raised_somewhere():
    source = "\n".join(
        path.read_text()
        for package in ("loyalty", "api")
        for path in (ROOT / package).rglob("*.py")
    )

    unused = [
        code.name for code in ErrorCode if not re.search(rf"ErrorCode\.{code.name}\b", source)
    ]

    assert unused == []
