"""Rankers that turn candidate features into purchase probabilities: a small logistic
regression and gradient-boosted trees (LightGBM)."""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
from scipy.optimize import minimize
from scipy.special import expit


@dataclass(frozen=True)
class LogisticRanker:
    """``P(buy) = expit(((X - mean) / scale) @ coef + intercept)``.

    Attributes
    ----------
    mean, scale, coef : ndarray, shape (n_features,)
    intercept : float
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logit(self, features: np.ndarray) -> np.ndarray:
        """Log-odds, shape (n_rows,), for ``features`` of shape (n_rows, n_features)."""
        return ((features - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, features: np.ndarray) -> np.ndarray:
        """Purchase probability, shape (n_rows,)."""
        return expit(self.logit(features))

    def to_array(self) -> np.ndarray:
        """Packed as shape (3 * n_features + 1,) for saving."""
        return np.concatenate([self.mean, self.scale, self.coef, [self.intercept]])

    @classmethod
    def from_array(cls, packed: np.ndarray) -> LogisticRanker:
        """Inverse of :meth:`to_array`."""
        n = (len(packed) - 1) // 3
        return cls(packed[:n], packed[n : 2 * n], packed[2 * n : 3 * n], float(packed[-1]))


def fit_ranker(
    features: np.ndarray, bought: np.ndarray, weights: np.ndarray, l2: float = 1.0
) -> LogisticRanker:
    """Fit by weighted, L2-penalised maximum likelihood (L-BFGS on standardised features).

    Parameters
    ----------
    features : ndarray, shape (n_rows, n_features)
    bought : ndarray, shape (n_rows,)
        1.0 where the candidate was bought in the label window, else 0.0.
    weights : ndarray, shape (n_rows,)
        Sample weights.
    """
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    z = (features - mean) / scale
    total = weights.sum()

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = params[:-1], params[-1]
        logits = z @ coef + intercept
        nll = float(weights @ (np.logaddexp(0.0, logits) - bought * logits)) / total
        residual = weights * (expit(logits) - bought) / total
        grad = np.append(z.T @ residual + l2 * coef / total, residual.sum())
        return nll + 0.5 * l2 * float(coef @ coef) / total, grad

    start = np.zeros(z.shape[1] + 1)
    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return LogisticRanker(mean, scale, result.x[:-1], float(result.x[-1]))


@dataclass(frozen=True)
class ListRanker:
    """Gradient-boosted trees (LightGBM lambdarank) that order one member's candidates.

    Fitted per member (a query is one member's candidates), so scores compare candidates of
    the same member only; they are not probabilities. Trees find what the logistic ranker's
    hand-made interaction features only approximate. The booster is kept in LightGBM's own
    text format, never pickled.
    """

    booster: lgb.Booster

    def score(self, features: np.ndarray) -> np.ndarray:
        """Ranking score, shape (n_rows,); NaN features mean "not applicable"."""
        return np.asarray(self.booster.predict(features, num_threads=1), dtype=np.float64)

    def to_array(self) -> np.ndarray:
        """The model text as bytes, shape (n_bytes,), uint8."""
        return np.frombuffer(self.booster.model_to_string().encode(), dtype=np.uint8)

    @classmethod
    def from_array(cls, packed: np.ndarray) -> ListRanker:
        """Inverse of :meth:`to_array`."""
        return cls(lgb.Booster(model_str=packed.astype(np.uint8).tobytes().decode()))


@dataclass(frozen=True)
class BoostingConfig:
    """LightGBM settings of :func:`fit_list_ranker` (one thread: the machine is shared)."""

    trees: int = 200
    learning_rate: float = 0.05
    leaves: int = 31
    min_leaf_rows: int = 100

    def params(self) -> dict[str, object]:
        """LightGBM parameters: lambdarank on the top 10, deterministic, single-threaded."""
        return {
            "objective": "lambdarank",
            "eval_at": [10],
            "lambdarank_truncation_level": 20,
            "learning_rate": self.learning_rate,
            "num_leaves": self.leaves,
            "min_data_in_leaf": self.min_leaf_rows,
            "feature_fraction": 0.9,
            "num_threads": 1,
            "deterministic": True,
            "force_row_wise": True,
            "seed": 0,
            "verbosity": -1,
        }


def fit_list_ranker(
    features: np.ndarray,
    bought: np.ndarray,
    group_sizes: np.ndarray,
    config: BoostingConfig | None = None,
) -> ListRanker:
    """Fit lambdarank on candidates grouped by member.

    Parameters
    ----------
    features : ndarray, shape (n_rows, n_features)
        Rows of one member are contiguous.
    bought : ndarray, shape (n_rows,)
        1.0 where the candidate was bought in the label window, else 0.0.
    group_sizes : ndarray, shape (n_members,)
        Number of consecutive rows of each member.
    """
    config = config or BoostingConfig()
    data = lgb.Dataset(features, label=bought, group=group_sizes, free_raw_data=True)
    booster = lgb.train(config.params(), data, num_boost_round=config.trees)
    return ListRanker(booster)
