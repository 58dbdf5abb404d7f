"""The statistics of experiment reports: a difference of means with its 95% interval, and the
sample ratio mismatch check.

- Difference of per-member means (treatment minus control): Welch's t interval (unequal
  variances, Welch-Satterthwaite degrees of freedom). Welch relies on the sample means being
  close to normal; where an arm's distribution is too skewed for its size (fewer members than
  355 x skewness^2, the rule of thumb in Kohavi, Tang and Xu, *Trustworthy Online Controlled
  Experiments*, ch. 17) the interval is a percentile bootstrap of the difference instead
  (2,000 resamples, fixed seed). The method used is named in the result.
- Sample ratio mismatch: Pearson's chi-square of the arms' member counts against the counts
  their weights expect; a p-value below 0.001 is flagged (the arms are not what the assignment
  should give, so the comparison is not to be trusted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 2000
SRM_ALPHA = 0.001
WELCH = "welch"
BOOTSTRAP = "bootstrap"

Values = npt.ArrayLike


@dataclass(frozen=True)
class Difference:
    """Treatment mean minus control mean, with its interval."""

    control_mean: float
    treatment_mean: float
    difference: float
    low: float
    high: float
    method: str

    @property
    def covers_zero(self) -> bool:
        return self.low <= 0.0 <= self.high


def welch(control: Values, treatment: Values, confidence: float = CONFIDENCE) -> Difference:
    """Welch's t interval for the difference of means."""
    a, b = _floats(control), _floats(treatment)
    diff = float(b.mean() - a.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = float(np.sqrt(va + vb))
    if se == 0.0:
        return Difference(float(a.mean()), float(b.mean()), diff, diff, diff, WELCH)
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * se
    return Difference(float(a.mean()), float(b.mean()), diff, diff - half, diff + half, WELCH)


def bootstrap(
    control: Values,
    treatment: Values,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Difference:
    """Percentile bootstrap interval for the difference of means (resampling each arm)."""
    a, b = _floats(control), _floats(treatment)
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    step = max(1, 2_000_000 // max(a.size, b.size))
    for start in range(0, resamples, step):
        count = min(step, resamples - start)
        ma = a[rng.integers(0, a.size, (count, a.size))].mean(axis=1)
        mb = b[rng.integers(0, b.size, (count, b.size))].mean(axis=1)
        diffs[start : start + count] = mb - ma
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    diff = float(b.mean() - a.mean())
    return Difference(float(a.mean()), float(b.mean()), diff, float(low), float(high), BOOTSTRAP)


def far_from_normal(values: Values) -> bool:
    """Too skewed for its size for the mean to be near normal: n < 355 * skewness^2."""
    x = _floats(values)
    if x.size < 3 or float(x.std()) == 0.0:
        return False
    return bool(x.size < 355 * float(stats.skew(x)) ** 2)


def compare(control: Values, treatment: Values) -> Difference | None:
    """Welch's interval, or the bootstrap where an arm is far from normal; None below two
    members in an arm."""
    a, b = _floats(control), _floats(treatment)
    if a.size < 2 or b.size < 2:
        return None
    if far_from_normal(a) or far_from_normal(b):
        return bootstrap(a, b)
    return welch(a, b)


@dataclass(frozen=True)
class SampleRatio:
    chi_square: float
    p_value: float
    mismatch: bool


def sample_ratio(counts: Sequence[int], weights: Sequence[float]) -> SampleRatio:
    """Pearson's chi-square of observed arm sizes against the sizes the weights expect."""
    observed = np.asarray(counts, dtype=float)
    total = observed.sum()
    if total == 0:
        return SampleRatio(0.0, 1.0, False)
    share = np.asarray(weights, dtype=float) / float(np.sum(weights))
    result = stats.chisquare(observed, total * share)
    p_value = float(result.pvalue)
    return SampleRatio(float(result.statistic), p_value, p_value < SRM_ALPHA)


def _floats(values: Values) -> npt.NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64)
