"""Synthetic purchase histories whose right answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import recommend
from recommend import BlendedRecommender

START = pd.Timestamp("2024-01-01")


def lines(rows: list[tuple[object, object, int]]) -> pd.DataFrame:
    """Interactions from (member, product, day offset) triples, quantity 1."""
    return pd.DataFrame(
        {
            "member_id": [m for m, _, _ in rows],
            "product_id": [p for _, p, _ in rows],
            "timestamp": START
            + pd.Timedelta(hours=10)
            + pd.to_timedelta([d for _, _, d in rows], unit="D"),
            "quantity": [1] * len(rows),
        }
    )


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Member "a" buys "x" weekly; "y" is what everyone else buys; "z" is bought by two others."""
    rows: list[tuple[object, object, int]] = [("a", "x", 7 * w) for w in range(10)]
    rows += [("a", "w", 3)]
    for member in ("b", "c", "d", "e"):
        rows += [(member, "y", 7 * w + 1) for w in range(3)]
    rows += [("b", "z", 5), ("c", "z", 6), ("d", "v", 8)]
    return lines(rows)


@pytest.fixture(scope="session")
def shoppers() -> pd.DataFrame:
    """400 members in 4 taste groups of 20 products, 26 weeks; each has 4 weekly staples.

    Member 0 buys product 0 on every trip and nothing else as often.
    """
    rng = np.random.default_rng(7)
    rows: list[tuple[object, object, int]] = []
    for member in range(400):
        group = member % 4
        own = np.arange(20) + 20 * group
        staples = rng.choice(own, size=4, replace=False)
        if member == 0:
            staples = np.array([0])
        for week in range(26):
            day = 7 * week + int(rng.integers(0, 7))
            rows += [(member, int(p), day) for p in staples if member == 0 or rng.random() < 0.7]
            rows += [(member, int(p), day) for p in rng.choice(own, size=2, replace=False)]
            if rng.random() < 0.3:
                rows.append((member, int(rng.integers(0, 80)), day))
    return lines(rows)


@pytest.fixture(scope="session")
def shoppers_model(shoppers: pd.DataFrame) -> BlendedRecommender:
    """The project's model fitted once on ``shoppers`` (tests only read it)."""
    return recommend.fit(shoppers)
