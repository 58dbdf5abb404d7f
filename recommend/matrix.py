"""Order lines -> sparse member x product matrix with id maps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

REQUIRED_COLUMNS = ("member_id", "product_id", "timestamp")


@dataclass(frozen=True)
class InteractionMatrix:
    """Purchase counts per member and product, with the ids of rows and columns.

    Attributes
    ----------
    member_ids : ndarray, shape (n_members,)
        Member id of each row, sorted.
    product_ids : ndarray, shape (n_products,)
        Product id of each column, sorted.
    counts : csr_matrix, shape (n_members, n_products), float32
        Number of order lines of the product bought by the member (canonical CSR:
        sorted indices, no explicit zeros).
    """

    member_ids: np.ndarray
    product_ids: np.ndarray
    counts: sp.csr_matrix

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_members, n_products)``."""
        return (len(self.member_ids), len(self.product_ids))

    def member_rows(self, member_ids: Iterable[Any]) -> np.ndarray:
        """Row of each member id, -1 for members the matrix has not seen."""
        return pd.Index(self.member_ids).get_indexer(list(member_ids))

    def product_columns(self, product_ids: Iterable[Any]) -> np.ndarray:
        """Column of each product id, -1 for unknown products."""
        return pd.Index(self.product_ids).get_indexer(list(product_ids))


def check_interactions(interactions: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the missing columns, if any."""
    missing = [c for c in REQUIRED_COLUMNS if c not in interactions.columns]
    if missing:
        raise ValueError(f"interactions lack column(s): {', '.join(missing)}")


def timestamps(interactions: pd.DataFrame) -> np.ndarray:
    """The ``timestamp`` column as naive UTC ``datetime64[ns]``, shape (n_lines,)."""
    stamps = pd.to_datetime(interactions["timestamp"])
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[ns]")


def encode(interactions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(member_ids, product_ids, rows, cols)``: sorted unique ids and each line's codes."""
    check_interactions(interactions)
    rows, member_ids = pd.factorize(interactions["member_id"], sort=True)
    cols, product_ids = pd.factorize(interactions["product_id"], sort=True)
    return (
        np.asarray(member_ids),
        np.asarray(product_ids),
        rows.astype(np.int64),
        cols.astype(np.int64),
    )


def build_matrix(interactions: pd.DataFrame) -> InteractionMatrix:
    """Count order lines per (member, product) into an :class:`InteractionMatrix`."""
    member_ids, product_ids, rows, cols = encode(interactions)
    ones = np.ones(len(rows), dtype=np.float32)
    counts = sp.csr_matrix((ones, (rows, cols)), shape=(len(member_ids), len(product_ids)))
    counts.sum_duplicates()
    counts.sort_indices()
    return InteractionMatrix(member_ids=member_ids, product_ids=product_ids, counts=counts)
