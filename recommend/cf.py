"""Collaborative filtering with implicit's ALS (CPU, single BLAS thread, fixed seed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class ALSConfig:
    """ALS hyperparameters; confidence is ``alpha * log1p(order lines)``."""

    factors: int = 16
    regularization: float = 5.0
    alpha: float = 1.0
    iterations: int = 15
    random_state: int = 0


def confidence(counts: sp.csr_matrix) -> sp.csr_matrix:
    """``log1p`` of purchase counts as float32 CSR, shape (n_members, n_products)."""
    weighted = counts.astype(np.float32).tocsr(copy=True)
    weighted.data = np.log1p(weighted.data)
    return weighted


def make_als(config: ALSConfig) -> AlternatingLeastSquares:
    """An unfitted CPU ALS model built under a one-thread BLAS limit (no implicit warning)."""
    with threadpool_limits(1, "blas"):
        return AlternatingLeastSquares(
            factors=config.factors,
            regularization=config.regularization,
            alpha=config.alpha,
            iterations=config.iterations,
            random_state=config.random_state,
        )


def fit_als(counts: sp.csr_matrix, config: ALSConfig) -> AlternatingLeastSquares:
    """Fit ALS on a member x product count matrix and return the implicit model."""
    model = make_als(config)
    with threadpool_limits(1, "blas"):
        model.fit(confidence(counts), show_progress=False)
    return model
