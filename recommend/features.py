"""Candidates per member and the features the ranker scores them by.

Two kinds of candidate, each with its own feature set:

- *bought*: every product in the member's history (frequency, recency-decayed counts, days since
  the last purchase against the member's own inter-purchase interval, how often other buyers
  repeat it, its ALS score);
- *new*: products the member never bought, the top ones by ALS score plus the most popular
  ones (ALS score, popularity, how "repeatable" the product is).

Both carry member activity (trips overall and recently, breadth of the basket) and a few
products of activity with the main signals, so one linear model can weigh history against
collaborative filtering differently for light and heavy shoppers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from implicit.cpu.topk import topk

from recommend.history import PurchaseHistory
from recommend.matrix import InteractionMatrix

MEMBER_FEATURES = (
    "log_member_trips",
    "log_member_products",
    "log_member_days_since_last_trip",
    "log_member_trips_56d",
    "log_member_trips_28d",
)
BOUGHT_FEATURES = (
    "log_lines",
    "log_days",
    "log_decayed_short",
    "log_decayed_long",
    "log_days_since_last",
    "log_days_since_first",
    "own_cycle_ratio",
    "bought_on_two_days",
    "product_repeat_logit",
    "log_product_buyers",
    "log_product_recent_buyers",
    "als_score",
    *MEMBER_FEATURES,
    "trips_56d_x_log_lines",
    "trips_56d_x_log_decayed_short",
    "trips_56d_x_log_days_since_last",
    "trips_56d_x_product_repeat_logit",
    "trips_56d_x_log_product_buyers",
)
NEW_FEATURES = (
    "log_product_buyers",
    "log_product_recent_buyers",
    "product_repeat_logit",
    "als_score",
    *MEMBER_FEATURES,
    "als_score_x_log_member_products",
    "log_product_buyers_x_log_member_products",
    "trips_56d_x_log_product_buyers",
    "trips_56d_x_als_score",
    "trips_56d_x_product_repeat_logit",
)

#: Features of a list ranker that orders bought and new candidates together: the union of both
#: sets (a feature one kind lacks is NaN for it) and whether the member bought the product.
JOINT_FEATURES = (
    "bought_before",
    *BOUGHT_FEATURES,
    *(name for name in NEW_FEATURES if name not in BOUGHT_FEATURES),
)


@dataclass(frozen=True)
class Candidates:
    """Candidate (member row, product column) pairs with features.

    Attributes
    ----------
    rows, columns : ndarray, shape (n_pairs,), int64
    features : ndarray, shape (n_pairs, n_features), float64
    from_cf : ndarray, shape (n_pairs,), bool
        New products proposed by ALS (the others by popularity); all False for bought ones.
    """

    rows: np.ndarray
    columns: np.ndarray
    features: np.ndarray
    from_cf: np.ndarray


def _member_features(
    history: PurchaseHistory, matrix: InteractionMatrix, rows: np.ndarray
) -> np.ndarray:
    products = np.diff(matrix.counts.indptr)[rows].astype(np.float64)
    return np.column_stack(
        [
            np.log1p(history.member_trips[rows]),
            np.log1p(products),
            np.log1p(history.member_since_last[rows]),
            np.log1p(history.member_active_trips[rows]),
            np.log1p(history.member_recent_trips[rows]),
        ]
    )


def bought_candidates(
    history: PurchaseHistory,
    matrix: InteractionMatrix,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    rows: np.ndarray,
) -> Candidates:
    """Every product each member in ``rows`` bought, with ``BOUGHT_FEATURES``."""
    indptr = matrix.counts.indptr
    starts, ends = indptr[rows], indptr[rows + 1]
    lengths = ends - starts
    pair = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(
        lengths.sum()
    )
    pair_rows = np.repeat(rows, lengths)
    cols = matrix.counts.indices[pair].astype(np.int64)
    als = np.einsum("ij,ij->i", user_factors[pair_rows], item_factors[cols]).astype(np.float64)
    log_lines = np.log1p(history.lines[pair])
    log_short = np.log1p(history.decayed_short[pair])
    log_last = np.log1p(history.last_age[pair])
    repeat = history.product_repeat_logit[cols]
    log_buyers = np.log1p(history.product_buyers[cols])
    member = _member_features(history, matrix, pair_rows)
    active = member[:, 3:4]
    features = np.column_stack(
        [
            log_lines,
            np.log1p(history.days[pair]),
            log_short,
            np.log1p(history.decayed_long[pair]),
            log_last,
            np.log1p(history.first_age[pair]),
            history.own_cycle_ratio(pair),
            (history.days[pair] >= 2).astype(np.float64),
            repeat,
            log_buyers,
            np.log1p(history.product_recent_buyers[cols]),
            als,
            member,
            active * np.column_stack([log_lines, log_short, log_last, repeat, log_buyers]),
        ]
    )
    return Candidates(pair_rows, cols, features, np.zeros(len(cols), dtype=bool))


def new_candidates(
    history: PurchaseHistory,
    matrix: InteractionMatrix,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    rows: np.ndarray,
    n_cf: int,
    n_popular: int,
) -> Candidates:
    """Top ``n_cf`` unbought products by ALS and ``n_popular`` by buyers; ``NEW_FEATURES``.

    Neither list scores every product per member: implicit's top-k walks the item factors
    with the member's purchases filtered out, and the popular ones are the first unbought
    products of one popularity order."""
    n_products = matrix.shape[1]
    bought = matrix.counts[rows]
    pairs = [np.empty(0, np.int64)]
    n_from_cf = 0
    k = min(n_cf, n_products)
    if k > 0 and len(rows):
        ids, scores = topk(
            np.ascontiguousarray(item_factors, dtype=np.float32),
            np.ascontiguousarray(user_factors[rows], dtype=np.float32),
            k,
            filter_query_items=bought.astype(np.float32),
            num_threads=1,
        )
        # short lists are padded with filtered products scored float32's lowest
        local, rank = np.nonzero((ids >= 0) & (scores > np.finfo(np.float32).min))
        pairs.append(local * n_products + ids[local, rank].astype(np.int64))
        n_from_cf = len(pairs[-1])
    if n_popular > 0 and len(rows):
        local, cols = _first_unbought(history.product_buyers, bought, n_popular)
        pairs.append(local * n_products + cols)
    keys, first = np.unique(np.concatenate(pairs), return_index=True)
    local, cols = np.divmod(keys, n_products)
    from_cf = first < n_from_cf
    pair_rows = rows[local]
    score = np.einsum(
        "ij,ij->i", user_factors[pair_rows], item_factors[cols], dtype=np.float32
    ).astype(np.float64)
    log_buyers = np.log1p(history.product_buyers[cols])
    repeat = history.product_repeat_logit[cols]
    member = _member_features(history, matrix, pair_rows)
    active, breadth = member[:, 3], member[:, 1]
    features = np.column_stack(
        [
            log_buyers,
            np.log1p(history.product_recent_buyers[cols]),
            repeat,
            score,
            member,
            score * breadth,
            log_buyers * breadth,
            active * log_buyers,
            active * score,
            active * repeat,
        ]
    )
    return Candidates(pair_rows, cols.astype(np.int64), features, from_cf)


def _first_unbought(
    buyers: np.ndarray, bought: sp.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(row, product)`` pairs: each row's ``k`` most bought products (by ``buyers``, ties by
    product) among those the row's member did not buy."""
    order = _popularity_order(buyers)
    per_row = np.diff(bought.indptr)
    head = order[: min(len(order), k + int(per_row.max(initial=0)))]
    position = np.full(len(order), -1, dtype=np.int64)
    position[head] = np.arange(len(head))
    taken = np.zeros((bought.shape[0], len(head)), dtype=bool)
    at = position[bought.indices]
    inside = at >= 0
    taken[np.repeat(np.arange(bought.shape[0]), per_row)[inside], at[inside]] = True
    free = ~taken
    keep = free & (np.cumsum(free, axis=1) <= k)
    local, slot = np.nonzero(keep)
    return local.astype(np.int64), head[slot].astype(np.int64)


def _popularity_order(buyers: np.ndarray) -> np.ndarray:
    """Products by buyers, most first, ties by product (cached per ``buyers`` array)."""
    key = id(buyers)
    cached = _ORDERS.get(key)
    if cached is None or cached[0] is not buyers:
        cached = (buyers, np.lexsort((np.arange(len(buyers)), -buyers)))
        _ORDERS.clear()
        _ORDERS[key] = cached
    return cached[1]


_ORDERS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def joint_features(bought: Candidates, new: Candidates) -> np.ndarray:
    """``JOINT_FEATURES`` of the bought candidates followed by the new ones.

    Returns
    -------
    ndarray, shape (len(bought.rows) + len(new.rows), len(JOINT_FEATURES)), float64
    """
    n_bought = len(bought.rows)
    out = np.full((n_bought + len(new.rows), len(JOINT_FEATURES)), np.nan)
    out[:n_bought, 0] = 1.0
    out[n_bought:, 0] = 0.0
    for names, part, rows in (
        (BOUGHT_FEATURES, bought, slice(0, n_bought)),
        (NEW_FEATURES, new, slice(n_bought, None)),
    ):
        columns = [JOINT_FEATURES.index(name) for name in names]
        out[rows, columns] = part.features
    return out
