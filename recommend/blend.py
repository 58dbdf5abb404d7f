"""The project's model: own history and collaborative filtering blended by a learned ranker.

How it works
------------
1. Candidates per member: everything the member bought, plus new products proposed by ALS
   (implicit, CPU) and by popularity (see :mod:`recommend.features`).
2. Two logistic rankers (one for bought, one for new candidates) give each candidate the
   probability that the member buys it in the next ``label_weeks``. They are fitted inside
   :func:`fit` on a temporal split of the data it is given: history before the last
   ``label_weeks`` weeks -> purchases in those weeks, members weighted by
   ``1 / sqrt(products they bought)`` so that light shoppers count (recall is per member).
   Nothing outside the interactions passed to :func:`fit` is looked at.
3. Because both are calibrated probabilities, one sort blends them: a new product comes before
   a bought one only when it is more likely to be bought. ``exclude_purchased=True`` ranks
   new candidates only (ALS + popularity).

When the data is too short or too small to learn the rankers (fewer than ``min_positives``
labelled purchases of either kind), a fixed rule is used: bought products by order lines then
recency, then new ones by ALS score.

The defaults are the configuration chosen on a validation split (see :mod:`recommend.tuning`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import expit

from recommend.base import BOUGHT, POPULAR, SIMILAR, Ranking, Recommender
from recommend.baselines import buyer_share
from recommend.cf import ALSConfig, fit_als
from recommend.features import (
    BOUGHT_FEATURES,
    NEW_FEATURES,
    Candidates,
    bought_candidates,
    joint_features,
    new_candidates,
)
from recommend.history import PurchaseHistory, summarise
from recommend.matrix import InteractionMatrix, build_matrix, check_interactions, timestamps
from recommend.ranker import (
    BoostingConfig,
    ListRanker,
    LogisticRanker,
    fit_list_ranker,
    fit_ranker,
)

WEEK = np.timedelta64(7, "D")


@dataclass(frozen=True)
class BlendConfig:
    """Hyperparameters of :class:`BlendedRecommender` (defaults: the tuned configuration)."""

    als: ALSConfig = field(default_factory=ALSConfig)
    half_lives: tuple[float, float] = (30.0, 120.0)
    label_weeks: int = 8
    label_windows: int = 1
    new_candidates: int = 100
    popular_candidates: int = 50
    l2: float = 1.0
    min_positives: int = 50
    ranker: str = "logistic"
    trees: int = 200
    leaves: int = 31
    learning_rate: float = 0.05
    # The rankers learn from at most this many members of a label window (a fixed-seed
    # sample): a few dozen weights need no more, and their examples are what a large shop's
    # retrain would otherwise hold in memory (every purchase of every active member).
    ranker_members: int = 10_000

    @classmethod
    def from_kwargs(cls, **overrides: Any) -> BlendConfig:
        """Defaults with ``overrides``; ALS fields (``factors``, ``alpha``, ...) may be flat."""
        als_fields = {f.name for f in dataclasses.fields(ALSConfig)}
        als_overrides = {k: overrides.pop(k) for k in list(overrides) if k in als_fields}
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
        config = cls(**overrides)
        if config.ranker not in RANKERS:
            raise ValueError(f"ranker must be one of {', '.join(RANKERS)}, not {config.ranker!r}")
        if als_overrides:
            config = dataclasses.replace(
                config, als=dataclasses.replace(config.als, **als_overrides)
            )
        return config

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BlendConfig:
        """Inverse of :meth:`to_json`."""
        data = dict(data)
        data["als"] = ALSConfig(**data["als"])
        data["half_lives"] = tuple(data["half_lives"])
        return cls(**data)


RANKERS = ("logistic", "lambdarank")


@dataclass(frozen=True)
class Rankers:
    """The two fitted logistic rankers (purchase probabilities, merged by one sort)."""

    bought: LogisticRanker
    new: LogisticRanker


@dataclass(frozen=True)
class ListRankers:
    """Two lambdarank models: bought and new candidates together, and new ones alone."""

    joint: ListRanker
    new: ListRanker


class BlendedRecommender(Recommender):
    """Own-history and ALS candidates ranked by purchase probability (see module docstring)."""

    kind: ClassVar[str] = "blended"

    def __init__(
        self,
        matrix: InteractionMatrix,
        history: PurchaseHistory,
        user_factors: np.ndarray,
        item_factors: np.ndarray,
        rankers: Rankers | ListRankers | None,
        config: BlendConfig,
    ) -> None:
        self.matrix = matrix
        self.history = history
        self.user_factors = user_factors
        self.item_factors = item_factors
        self.rankers = rankers
        self.config = config
        self.popularity = buyer_share(matrix)

    @classmethod
    def fit(
        cls, interactions: pd.DataFrame, config: BlendConfig | None = None
    ) -> BlendedRecommender:
        """Learn the rankers on a split of ``interactions``, then fit on all of it."""
        check_interactions(interactions)
        if interactions.empty:
            raise ValueError("no interactions to learn from")
        config = config or BlendConfig()
        rankers = learn_rankers(interactions, config)
        matrix = build_matrix(interactions)
        history = summarise(interactions, matrix, half_lives=config.half_lives)
        als = fit_als(matrix.counts, config.als)
        return cls(
            matrix,
            history,
            np.asarray(als.user_factors),
            np.asarray(als.item_factors),
            rankers,
            config,
        )

    def candidates(self, rows: np.ndarray) -> tuple[Candidates, Candidates]:
        """Bought and new candidates of member ``rows``."""
        return self._bought(rows), self._new(rows)

    def _bought(self, rows: np.ndarray) -> Candidates:
        return bought_candidates(
            self.history, self.matrix, self.user_factors, self.item_factors, rows
        )

    def _new(self, rows: np.ndarray) -> Candidates:
        return new_candidates(
            self.history,
            self.matrix,
            self.user_factors,
            self.item_factors,
            rows,
            self.config.new_candidates,
            self.config.popular_candidates,
        )

    def rank(self, rows: np.ndarray, n: int, exclude_purchased: bool) -> Ranking:
        """Blend bought and new candidates by purchase probability; new ones only if asked."""
        new = self._new(rows)
        new_reasons = np.where(new.from_cf, SIMILAR, POPULAR).astype(np.int8)
        if exclude_purchased:
            return _top_per_row(rows, new.rows, new.columns, self._new_scores(new), new_reasons, n)
        bought = self._bought(rows)
        if isinstance(self.rankers, ListRankers):
            scores = self.rankers.joint.score(joint_features(bought, new))
        else:
            scores = np.concatenate([self._bought_scores(bought), self._new_scores(new)])
        pair_rows = np.concatenate([bought.rows, new.rows])
        cols = np.concatenate([bought.columns, new.columns])
        reasons = np.concatenate([np.full(len(bought.rows), BOUGHT, np.int8), new_reasons])
        return _top_per_row(rows, pair_rows, cols, scores, reasons, n)

    def _new_scores(self, new: Candidates) -> np.ndarray:
        if isinstance(self.rankers, ListRankers):
            return self.rankers.new.score(new.features)
        if self.rankers is not None:
            return self.rankers.new.probability(new.features)
        # fixed rule: new products by ALS score, below every bought one
        return 0.5 * expit(new.features[:, NEW_FEATURES.index("als_score")])

    def _bought_scores(self, bought: Candidates) -> np.ndarray:
        if isinstance(self.rankers, Rankers):
            return self.rankers.bought.probability(bought.features)
        # fixed rule: by order lines, then recency
        lines = bought.features[:, BOUGHT_FEATURES.index("log_lines")]
        since = bought.features[:, BOUGHT_FEATURES.index("log_days_since_last")]
        return 1.0 + np.expm1(lines) + 1.0 / (2.0 + np.expm1(since))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Config, reference time; history, factors and rankers as arrays."""
        arrays: dict[str, np.ndarray] = {
            f"history.{f.name}": getattr(self.history, f.name)
            for f in dataclasses.fields(PurchaseHistory)
            if f.name != "now"
        }
        arrays["user_factors"] = self.user_factors
        arrays["item_factors"] = self.item_factors
        if isinstance(self.rankers, Rankers):
            arrays["ranker.bought"] = self.rankers.bought.to_array()
            arrays["ranker.new"] = self.rankers.new.to_array()
        elif isinstance(self.rankers, ListRankers):
            arrays["ranker.joint.lambdarank"] = self.rankers.joint.to_array()
            arrays["ranker.new.lambdarank"] = self.rankers.new.to_array()
        params = {"config": self.config.to_json(), "now": str(self.history.now)}
        return params, arrays

    @classmethod
    def from_state(
        cls, params: dict[str, Any], arrays: dict[str, np.ndarray], matrix: InteractionMatrix
    ) -> BlendedRecommender:
        """Rebuild from :meth:`state`."""
        history = PurchaseHistory(
            now=np.datetime64(params["now"], "ns"),
            **{
                f.name: arrays[f"history.{f.name}"]
                for f in dataclasses.fields(PurchaseHistory)
                if f.name != "now"
            },
        )
        rankers: Rankers | ListRankers | None = None
        if "ranker.bought" in arrays:
            rankers = Rankers(
                LogisticRanker.from_array(arrays["ranker.bought"]),
                LogisticRanker.from_array(arrays["ranker.new"]),
            )
        elif "ranker.joint.lambdarank" in arrays:
            rankers = ListRankers(
                ListRanker.from_array(arrays["ranker.joint.lambdarank"]),
                ListRanker.from_array(arrays["ranker.new.lambdarank"]),
            )
        config = BlendConfig.from_json(params["config"])
        return cls(matrix, history, arrays["user_factors"], arrays["item_factors"], rankers, config)


def _top_per_row(
    rows: np.ndarray,
    pair_rows: np.ndarray,
    cols: np.ndarray,
    scores: np.ndarray,
    reasons: np.ndarray,
    n: int,
) -> Ranking:
    """Best ``n`` candidates of each row (ties by column), padded with -1."""
    position = np.searchsorted(rows, pair_rows) if np.all(rows[:-1] <= rows[1:]) else None
    if position is None:
        index = {row: i for i, row in enumerate(rows.tolist())}
        position = np.array([index[r] for r in pair_rows.tolist()], dtype=np.int64)
    order = np.lexsort((cols, -scores, position))
    position, cols, scores, reasons = position[order], cols[order], scores[order], reasons[order]
    first = np.searchsorted(position, np.arange(len(rows)))
    rank = np.arange(len(position)) - first[position]
    keep = rank < n
    out_cols = np.full((len(rows), n), -1, dtype=np.int64)
    out_scores = np.full((len(rows), n), -np.inf)
    out_reasons = np.full((len(rows), n), POPULAR, dtype=np.int8)
    out_cols[position[keep], rank[keep]] = cols[keep]
    out_scores[position[keep], rank[keep]] = scores[keep]
    out_reasons[position[keep], rank[keep]] = reasons[keep]
    return Ranking(out_cols, out_scores, out_reasons)


Examples = list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def learn_rankers(interactions: pd.DataFrame, config: BlendConfig) -> Rankers | ListRankers | None:
    """Fit the rankers on history before the last ``label_weeks`` -> purchases in them.

    With ``label_windows > 1`` the examples of earlier windows (each ``label_weeks`` further
    back) are added. Returns None (use the fixed rule) when either kind has fewer than
    ``min_positives`` labelled purchases.
    """
    stamps = timestamps(interactions)
    if len(stamps) == 0:
        return None
    end = stamps.max()
    parts: dict[str, Examples] = {"bought": [], "new": [], "joint": []}
    for window in range(config.label_windows):
        upto = end - window * config.label_weeks * WEEK
        cutoff = upto - config.label_weeks * WEEK
        past_mask = stamps <= cutoff
        future_mask = (stamps > cutoff) & (stamps <= upto)
        if past_mask.any() and future_mask.any():
            _label_examples(
                interactions[past_mask], interactions[future_mask], cutoff, config, parts
            )
    for name in ("bought", "new"):
        chunks = parts[name]
        if not chunks or sum(float(c[1].sum()) for c in chunks) < config.min_positives:
            return None
    if config.ranker == "lambdarank":
        boosting = BoostingConfig(
            trees=config.trees, learning_rate=config.learning_rate, leaves=config.leaves
        )
        joint, new = (_list_ranker(parts[name], boosting) for name in ("joint", "new"))
        return ListRankers(joint, new)
    logistic = (
        fit_ranker(
            np.vstack([c[0] for c in parts[name]]),
            np.concatenate([c[1] for c in parts[name]]),
            np.concatenate([c[2] for c in parts[name]]),
            config.l2,
        )
        for name in ("bought", "new")
    )
    return Rankers(*logistic)


def _list_ranker(chunks: Examples, boosting: BoostingConfig) -> ListRanker:
    """Lambdarank over ``chunks``; a query is one member's candidates in one chunk."""
    features, labels, groups = [], [], []
    for chunk_features, y, _, rows in chunks:
        order = np.argsort(rows, kind="stable")
        features.append(chunk_features[order])
        labels.append(y[order])
        groups.append(np.unique(rows, return_counts=True)[1])
    return fit_list_ranker(
        np.vstack(features), np.concatenate(labels), np.concatenate(groups), boosting
    )


def _label_examples(
    past: pd.DataFrame,
    future: pd.DataFrame,
    cutoff: np.datetime64,
    config: BlendConfig,
    parts: dict[str, Examples],
) -> None:
    """Append (features, bought in ``future``, weight, member row) for members active in
    ``future``: bought and new candidates, and both together for a list ranker."""
    matrix = build_matrix(past)
    history = summarise(past, matrix, now=cutoff, half_lives=config.half_lives)
    als = fit_als(matrix.counts, config.als)
    inner = BlendedRecommender(
        matrix, history, np.asarray(als.user_factors), np.asarray(als.item_factors), None, config
    )
    n_products = matrix.shape[1]
    future_rows = matrix.member_rows(future["member_id"])
    future_cols = matrix.product_columns(future["product_id"])
    active = np.unique(future_rows[future_rows >= 0])
    if len(active) > config.ranker_members:
        sample = np.random.default_rng(0).choice(len(active), config.ranker_members, replace=False)
        active = active[np.sort(sample)]
    known = (future_rows >= 0) & (future_cols >= 0)
    labelled = np.unique(future_rows[known] * n_products + future_cols[known])
    # products each member bought in the label window, known to the inner model or not
    breadth = future[["member_id", "product_id"]].drop_duplicates().groupby("member_id").size()
    member_breadth = np.ones(matrix.shape[0])
    breadth_rows = matrix.member_rows(breadth.index)
    member_breadth[breadth_rows[breadth_rows >= 0]] = breadth.to_numpy()[breadth_rows >= 0]
    for start in range(0, len(active), 256):
        bought, new = inner.candidates(active[start : start + 256])
        labels = {}
        for name, cand in (("bought", bought), ("new", new)):
            y = _member_of(cand.rows * n_products + cand.columns, labelled).astype(np.float64)
            labels[name] = y
            weight = 1.0 / np.sqrt(member_breadth[cand.rows])
            parts[name].append((cand.features, y, weight, cand.rows))
        if config.ranker == "lambdarank":
            rows = np.concatenate([bought.rows, new.rows])
            y = np.concatenate([labels["bought"], labels["new"]])
            weight = 1.0 / np.sqrt(member_breadth[rows])
            parts["joint"].append((joint_features(bought, new), y, weight, rows))


def _member_of(keys: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(keys, sorted_set)`` for a sorted, unique ``sorted_set``, by binary search: isin
    sorts the whole set again for every batch of candidates, which at a large shop's label
    window (millions of purchases) took most of the retrain."""
    if len(sorted_set) == 0:
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, keys), len(sorted_set) - 1)
    return sorted_set[at] == keys


def fit(interactions: pd.DataFrame, **options: Any) -> BlendedRecommender:
    """Fit the project's model, tuned defaults; ``options`` override :class:`BlendConfig` fields."""
    return BlendedRecommender.fit(interactions, BlendConfig.from_kwargs(**options))
