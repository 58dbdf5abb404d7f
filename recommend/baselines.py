"""Baselines the project's model must beat: global popularity, personal popularity, plain ALS."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from implicit.cpu.als import AlternatingLeastSquares

from recommend.base import BOUGHT, POPULAR, SIMILAR, Ranking, Recommender, block_purchased, top_n
from recommend.cf import ALSConfig, fit_als, make_als
from recommend.matrix import InteractionMatrix, build_matrix


def buyer_share(matrix: InteractionMatrix) -> np.ndarray:
    """Share of members who bought each product, shape (n_products,)."""
    buyers = np.bincount(matrix.counts.indices, minlength=matrix.shape[1]).astype(np.float64)
    return buyers / max(matrix.shape[0], 1)


class GlobalPopularity(Recommender):
    """The products bought by the most members (distinct buyers, not lines), for everyone."""

    kind: ClassVar[str] = "global_popularity"

    def __init__(self, matrix: InteractionMatrix, popularity: np.ndarray | None = None) -> None:
        self.matrix = matrix
        self.popularity = buyer_share(matrix) if popularity is None else popularity

    @classmethod
    def fit(cls, interactions: pd.DataFrame) -> GlobalPopularity:
        """Count each product's buyers in ``interactions``."""
        return cls(build_matrix(interactions))

    def rank(self, rows: np.ndarray, n: int, exclude_purchased: bool) -> Ranking:
        """Most popular products, minus the member's own when ``exclude_purchased``."""
        scores = np.tile(self.popularity, (len(rows), 1))
        if exclude_purchased:
            block_purchased(scores, self.matrix, rows)
        columns, values = top_n(scores, n)
        return Ranking(columns, values, np.full(columns.shape, POPULAR, dtype=np.int8))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """No parameters; the popularity vector."""
        return {}, {"popularity": self.popularity}

    @classmethod
    def from_state(
        cls, params: dict[str, Any], arrays: dict[str, np.ndarray], matrix: InteractionMatrix
    ) -> GlobalPopularity:
        """Rebuild from :meth:`state`."""
        return cls(matrix, arrays["popularity"])


class PersonalPopularity(GlobalPopularity):
    """Each member's own most-bought products (order lines; ties by global popularity).

    Lists shorter than ``n`` are topped up with global popularity, so with
    ``exclude_purchased=True`` this is global popularity minus the member's purchases.
    """

    kind: ClassVar[str] = "personal_popularity"

    def rank(self, rows: np.ndarray, n: int, exclude_purchased: bool) -> Ranking:
        """Own purchases by count; nothing of its own when ``exclude_purchased``."""
        if exclude_purchased:
            empty = np.full((len(rows), n), -1, dtype=np.int64)
            return Ranking(
                empty, np.full(empty.shape, -np.inf), np.full(empty.shape, POPULAR, np.int8)
            )
        counts = self.matrix.counts[rows].toarray().astype(np.float64)
        # popularity is a share in [0, 1]: it orders equal counts and never overturns a count
        scores = np.where(counts > 0, counts + 0.5 * self.popularity, -np.inf)
        columns, values = top_n(scores, n)
        return Ranking(columns, values, np.full(columns.shape, BOUGHT, dtype=np.int8))


class PlainALS(Recommender):
    """implicit's ALS alone, through its own ``recommend``.

    implicit drops already-bought products by default (``filter_already_liked_items=True``);
    here that filter is exactly ``exclude_purchased``, so repeat purchases are allowed unless
    asked otherwise.
    """

    kind: ClassVar[str] = "plain_als"

    def __init__(
        self,
        matrix: InteractionMatrix,
        als: AlternatingLeastSquares,
        config: ALSConfig,
        popularity: np.ndarray | None = None,
    ) -> None:
        self.matrix = matrix
        self.als = als
        self.config = config
        self.popularity = buyer_share(matrix) if popularity is None else popularity

    @classmethod
    def fit(cls, interactions: pd.DataFrame, config: ALSConfig | None = None) -> PlainALS:
        """Fit ALS (default :class:`ALSConfig`) on the member x product counts."""
        config = config or ALSConfig()
        matrix = build_matrix(interactions)
        return cls(matrix, fit_als(matrix.counts, config), config)

    def rank(self, rows: np.ndarray, n: int, exclude_purchased: bool) -> Ranking:
        """ALS scores; already-bought products kept unless ``exclude_purchased``."""
        ids, scores = self.als.recommend(
            rows,
            self.matrix.counts[rows],
            N=min(n, self.matrix.shape[1]),
            filter_already_liked_items=exclude_purchased,
        )
        ids = np.asarray(ids, dtype=np.int64).reshape(len(rows), -1)
        scores = np.asarray(scores, dtype=np.float64).reshape(len(rows), -1)
        valid = (ids >= 0) & np.isfinite(scores)
        columns = np.full((len(rows), n), -1, dtype=np.int64)
        values = np.full((len(rows), n), -np.inf)
        columns[:, : ids.shape[1]] = np.where(valid, ids, -1)
        values[:, : ids.shape[1]] = np.where(valid, scores, -np.inf)
        return Ranking(columns, values, np.full(columns.shape, SIMILAR, dtype=np.int8))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """ALS hyperparameters; factors and popularity."""
        arrays = {
            "user_factors": np.asarray(self.als.user_factors),
            "item_factors": np.asarray(self.als.item_factors),
            "popularity": self.popularity,
        }
        return {"als": asdict(self.config)}, arrays

    @classmethod
    def from_state(
        cls, params: dict[str, Any], arrays: dict[str, np.ndarray], matrix: InteractionMatrix
    ) -> PlainALS:
        """Rebuild from :meth:`state`."""
        config = ALSConfig(**params["als"])
        als = make_als(config)
        als.user_factors = arrays["user_factors"]
        als.item_factors = arrays["item_factors"]
        return cls(matrix, als, config, arrays["popularity"])
