"""Personalised product offers: training, evaluation, model store, ranking.

Usage::

    model = recommend.fit(interactions)         # member_id, product_id, timestamp, quantity
    model.recommend(["m1"], n=10)               # {member_id: [product_id, ...]}
    model.recommend_with_reasons(["m1"], n=10)  # {member_id: [(product_id, score, reason)]}
    model.save(path); recommend.load(path)      # arrays.npz + model.json, no pickle
"""

import os

# implicit wants a single-threaded BLAS; these only take effect if numpy is not loaded yet,
# so training also runs under threadpoolctl's limit (recommend.cf).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from recommend.base import Reason, Recommender  # noqa: E402
from recommend.blend import BlendConfig, BlendedRecommender, fit  # noqa: E402
from recommend.store import load, save  # noqa: E402

__all__ = ["BlendConfig", "BlendedRecommender", "Reason", "Recommender", "fit", "load", "save"]
