"""What each member's own purchase history says: frequency, recency, repeat cycles.

All ages are in days before ``now`` (the last purchase in the data unless given).
Per-pair arrays are aligned with ``matrix.counts.data`` (CSR order: by member, then product).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from recommend.matrix import InteractionMatrix, encode, timestamps

NS_PER_DAY = 86_400 * 10**9
RECENT_DAYS = 28.0
ACTIVE_DAYS = 56.0


@dataclass(frozen=True)
class PurchaseHistory:
    """Per member x product, per member and per product statistics at time ``now``.

    Attributes
    ----------
    now : numpy.datetime64
        Reference time of every age below.
    lines, days, last_age, first_age, decayed_short, decayed_long : ndarray, shape (nnz,)
        Per (member, product) pair in CSR order: order lines, distinct purchase days, days
        since the last and the first purchase, and lines weighted by ``0.5 ** (age / h)`` for
        the two half-lives ``h``.
    member_trips, member_since_last, member_recent_trips, member_active_trips : ndarray
        Shape (n_members,).
        Distinct shopping days, days since the last one, shopping days in the last 28 and
        56 days.
    product_buyers, product_recent_buyers, product_repeat_logit : ndarray, shape (n_products,)
        Members who bought the product, of them those who bought it in the last 28 days, and the
        smoothed log-odds that a buyer bought it on two or more days.
    """

    now: np.datetime64
    lines: np.ndarray
    days: np.ndarray
    last_age: np.ndarray
    first_age: np.ndarray
    decayed_short: np.ndarray
    decayed_long: np.ndarray
    member_trips: np.ndarray
    member_since_last: np.ndarray
    member_recent_trips: np.ndarray
    member_active_trips: np.ndarray
    product_buyers: np.ndarray
    product_recent_buyers: np.ndarray
    product_repeat_logit: np.ndarray

    def own_cycle_ratio(self, at: np.ndarray | slice = slice(None)) -> np.ndarray:
        """log((days since last + 1) / (usual days between purchases + 1)); 0 if one day; of
        the pairs ``at`` (all nnz by default)."""
        days, first_age, last_age = self.days[at], self.first_age[at], self.last_age[at]
        repeat = days >= 2
        interval = (first_age - last_age) / np.maximum(days - 1, 1)
        return np.where(repeat, np.log((last_age + 1) / (interval + 1)), 0.0)


def summarise(
    interactions: pd.DataFrame,
    matrix: InteractionMatrix,
    now: np.datetime64 | None = None,
    half_lives: tuple[float, float] = (30.0, 120.0),
    repeat_prior: float = 5.0,
) -> PurchaseHistory:
    """The :class:`PurchaseHistory` of ``interactions`` (the lines ``matrix`` was built from)."""
    _, _, rows, cols = encode(interactions)
    stamps = timestamps(interactions)
    ref = cast(
        np.datetime64, np.asarray(stamps.max() if now is None else now, "datetime64[ns]")[()]
    )
    age = np.maximum((ref.astype(np.int64) - stamps.astype(np.int64)) / NS_PER_DAY, 0.0)
    day = np.floor(age)
    short, long = half_lives
    lines = pd.DataFrame(
        {
            "row": rows,
            "col": cols,
            "age": age,
            "day": day,
            "short": np.exp2(-age / short),
            "long": np.exp2(-age / long),
        }
    )
    pairs = lines.groupby(["row", "col"], sort=True).agg(
        lines=("age", "size"),
        days=("day", "nunique"),
        last_age=("age", "min"),
        first_age=("age", "max"),
        decayed_short=("short", "sum"),
        decayed_long=("long", "sum"),
    )
    if len(pairs) != matrix.counts.nnz:
        raise ValueError("interactions do not match the matrix")
    n_members, n_products = matrix.shape

    trips = lines[["row", "day"]].drop_duplicates()
    trip_rows = trips["row"].to_numpy()
    trip_days = trips["day"].to_numpy()
    member_since_last = np.full(n_members, np.inf)
    np.minimum.at(member_since_last, rows, age)

    pair_cols = pairs.index.get_level_values("col").to_numpy()
    pair_days = pairs["days"].to_numpy()
    buyers = np.bincount(pair_cols, minlength=n_products).astype(np.float64)
    recent = pairs["last_age"].to_numpy() < RECENT_DAYS
    repeaters = np.bincount(pair_cols[pair_days >= 2], minlength=n_products).astype(np.float64)
    base_rate = min(max(repeaters.sum() / max(buyers.sum(), 1.0), 1e-3), 1 - 1e-3)
    rate = (repeaters + repeat_prior * base_rate) / (buyers + repeat_prior)
    return PurchaseHistory(
        now=ref,
        lines=pairs["lines"].to_numpy(np.float64),
        days=pair_days.astype(np.float64),
        last_age=pairs["last_age"].to_numpy(np.float64),
        first_age=pairs["first_age"].to_numpy(np.float64),
        decayed_short=pairs["decayed_short"].to_numpy(np.float64),
        decayed_long=pairs["decayed_long"].to_numpy(np.float64),
        member_trips=np.bincount(trip_rows, minlength=n_members).astype(np.float64),
        member_since_last=member_since_last,
        member_recent_trips=np.bincount(
            trip_rows[trip_days < RECENT_DAYS], minlength=n_members
        ).astype(np.float64),
        member_active_trips=np.bincount(
            trip_rows[trip_days < ACTIVE_DAYS], minlength=n_members
        ).astype(np.float64),
        product_buyers=buyers,
        product_recent_buyers=np.bincount(pair_cols[recent], minlength=n_products).astype(
            np.float64
        ),
        product_repeat_logit=np.log(rate / (1 - rate)),
    )
