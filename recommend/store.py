"""Save and load models without pickle: ``arrays.npz`` plus ``model.json`` in one directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommend.base import ARRAYS_FILE, FORMAT_VERSION, KINDS, PARAMS_FILE, Recommender
from recommend.matrix import InteractionMatrix


def save(model: Recommender, path: str | Path) -> Path:
    """Write ``model`` into directory ``path`` (created if needed) and return it."""
    return model.save(path)


def load(path: str | Path) -> Recommender:
    """Read a model written by :func:`save` (never unpickles anything). The model classes
    register themselves when ``recommend`` is imported, which importing this module does."""
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
