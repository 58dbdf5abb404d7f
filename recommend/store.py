"""Save and load models without pickle: ``arrays.npz`` plus ``model.json`` in one directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommend.base import Recommender
from recommend.baselines import GlobalPopularity, PersonalPopularity, PlainALS
from recommend.blend import BlendedRecommender
from recommend.matrix import InteractionMatrix

FORMAT_VERSION = 1
ARRAYS_FILE = "arrays.npz"
PARAMS_FILE = "model.json"
KINDS: dict[str, type[Recommender]] = {
    cls.kind: cls for cls in (GlobalPopularity, PersonalPopularity, PlainALS, BlendedRecommender)
}


def save(model: Recommender, path: str | Path) -> Path:
    """Write ``model`` into directory ``path`` (created if needed) and return it."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    params, arrays = model.state()
    counts = model.matrix.counts
    arrays = {
        **{f"model.{name}": np.asarray(value) for name, value in arrays.items()},
        "counts.data": counts.data,
        "counts.indices": counts.indices,
        "counts.indptr": counts.indptr,
    }
    document = {
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "params": params,
        "member_ids": model.matrix.member_ids.tolist(),
        "product_ids": model.matrix.product_ids.tolist(),
    }
    with open(directory / ARRAYS_FILE, "wb") as handle:
        np.savez(handle, allow_pickle=False, **arrays)
    (directory / PARAMS_FILE).write_text(json.dumps(document))
    return directory


def load(path: str | Path) -> Recommender:
    """Read a model written by :func:`save` (never unpickles anything)."""
    directory = Path(path)
    document: dict[str, Any] = json.loads((directory / PARAMS_FILE).read_text())
    if document.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported model format {document.get('format_version')!r}")
    cls = KINDS[document["kind"]]
    with np.load(directory / ARRAYS_FILE, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    member_ids = np.asarray(document["member_ids"])
    product_ids = np.asarray(document["product_ids"])
    counts = sp.csr_matrix(
        (arrays["counts.data"], arrays["counts.indices"], arrays["counts.indptr"]),
        shape=(len(member_ids), len(product_ids)),
    )
    matrix = InteractionMatrix(member_ids=member_ids, product_ids=product_ids, counts=counts)
    model_arrays = {
        name[len("model.") :]: value for name, value in arrays.items() if name.startswith("model.")
    }
    return cls.from_state(document["params"], model_arrays, matrix)
