"""A small logistic regression that turns candidate features into purchase probabilities."""

from __future__ import annotations

from dataclasses import dataclass

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
