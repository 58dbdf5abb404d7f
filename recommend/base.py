"""The contract every recommender follows: ranked products per member, popularity for strangers."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from recommend.matrix import InteractionMatrix

BATCH_SIZE = 256


class Reason(StrEnum):
    """Why a product is offered."""

    BOUGHT_OFTEN = "BOUGHT_OFTEN"
    SIMILAR_MEMBERS = "SIMILAR_MEMBERS"
    POPULAR = "POPULAR"


REASONS: tuple[Reason, ...] = tuple(Reason)
BOUGHT, SIMILAR, POPULAR = (REASONS.index(r) for r in Reason)


@dataclass(frozen=True)
class Ranking:
    """Top products of a batch of members.

    Attributes
    ----------
    columns : ndarray, shape (n_rows, n), int64
        Product columns best first; -1 where the model has nothing more to offer.
    scores : ndarray, shape (n_rows, n), float64
        Score of each product (higher is better; comparable within a model).
    reasons : ndarray, shape (n_rows, n), int8
        Index into ``REASONS``.
    """

    columns: np.ndarray
    scores: np.ndarray
    reasons: np.ndarray


@dataclass(frozen=True)
class OfferTable:
    """Ranked offers of many members as columns, one entry per offer (a batch's output).

    Attributes
    ----------
    member_ids, product_ids : ndarray, shape (n_offers,)
        Whose offer it is and which product; a member's offers are together, best first.
    ranks : ndarray, shape (n_offers,), int64
        0 for a member's best offer.
    scores : ndarray, shape (n_offers,), float64
    reasons : ndarray, shape (n_offers,), int8
        Index into ``REASONS``.
    """

    member_ids: np.ndarray
    ranks: np.ndarray
    product_ids: np.ndarray
    scores: np.ndarray
    reasons: np.ndarray

    def __len__(self) -> int:
        return len(self.ranks)

    @classmethod
    def concat(cls, tables: Sequence[OfferTable]) -> OfferTable:
        """One table of these tables' offers, in their order."""
        names = [f.name for f in fields(cls)]
        return cls(*(np.concatenate([getattr(t, name) for t in tables]) for name in names))

    def as_lists(self) -> dict[Any, list[tuple[Any, float, str]]]:
        """``{member_id: [(product_id, score, reason), ...]}``, as ``recommend_with_reasons``."""
        result: dict[Any, list[tuple[Any, float, str]]] = {}
        for member, product, score, reason in zip(
            self.member_ids.tolist(),
            self.product_ids.tolist(),
            self.scores.tolist(),
            self.reasons.tolist(),
            strict=True,
        ):
            result.setdefault(member, []).append((product, score, REASONS[reason].value))
        return result


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of the ``n`` best finite scores per row, best first; -1/-inf pad.

    Equal scores are ordered by column, also across the cut at rank ``n``, so results are
    reproducible.

    Parameters
    ----------
    scores : ndarray, shape (n_rows, n_columns)
        ``-inf`` marks columns that must not be returned.
    """
    n_rows, n_cols = scores.shape
    k = min(n, n_cols)
    if k == 0:
        return np.full((n_rows, n), -1, dtype=np.int64), np.full((n_rows, n), -np.inf)
    # the k-th best value per row; take everything better, then the lowest columns equal to it
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]
    better = scores > kth
    tied = scores == kth
    wanted = k - better.sum(axis=1, keepdims=True)
    chosen = better | (tied & (np.cumsum(tied, axis=1) <= wanted))
    part = np.nonzero(chosen)[1].reshape(n_rows, k)
    values = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -values), axis=1)
    columns = np.take_along_axis(part, order, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    columns = np.where(np.isfinite(values), columns, -1)
    pad = n - k
    if pad:
        columns = np.hstack([columns, np.full((n_rows, pad), -1)])
        values = np.hstack([values, np.full((n_rows, pad), -np.inf)])
    return columns.astype(np.int64), values


def block_purchased(scores: np.ndarray, matrix: InteractionMatrix, rows: np.ndarray) -> None:
    """Set ``scores[i, j] = -inf`` where member ``rows[i]`` bought product ``j`` (in place)."""
    bought = matrix.counts[rows]
    scores[np.repeat(np.arange(len(rows)), np.diff(bought.indptr)), bought.indices] = -np.inf


FORMAT_VERSION = 1
ARRAYS_FILE = "arrays.npz"
PARAMS_FILE = "model.json"
KINDS: dict[str, type[Recommender]] = {}
"""Every concrete model by its ``kind``, filled as the classes are defined (``recommend.load``)."""


class Recommender(ABC):
    """Base of all models: subclasses rank known members; this class serves ids and fallbacks.

    Subclasses set ``matrix`` (training purchases) and ``popularity`` (shape (n_products,):
    share of members who bought each product, the fallback for strangers and for short lists).
    """

    kind: ClassVar[str]
    matrix: InteractionMatrix
    popularity: np.ndarray

    @abstractmethod
    def rank(self, rows: np.ndarray, n: int, exclude_purchased: bool) -> Ranking:
        """Rank products for known member ``rows`` (shape (n_rows,))."""

    @abstractmethod
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Parameters (JSON-able) and arrays that :func:`recommend.store.save` writes."""

    @classmethod
    @abstractmethod
    def from_state(
        cls, params: dict[str, Any], arrays: dict[str, np.ndarray], matrix: InteractionMatrix
    ) -> Recommender:
        """Rebuild a model saved with :meth:`state`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            KINDS[cls.kind] = cls

    def save(self, path: str | Path) -> Path:
        """Write the model to directory ``path`` (created if needed; ``arrays.npz`` plus
        ``model.json``, no pickle) and return it; ``recommend.load`` reads it back."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        params, arrays = self.state()
        counts = self.matrix.counts
        arrays = {
            **{f"model.{name}": np.asarray(value) for name, value in arrays.items()},
            "counts.data": counts.data,
            "counts.indices": counts.indices,
            "counts.indptr": counts.indptr,
        }
        document = {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "params": params,
            "member_ids": self.matrix.member_ids.tolist(),
            "product_ids": self.matrix.product_ids.tolist(),
        }
        with open(directory / ARRAYS_FILE, "wb") as handle:
            np.savez(handle, allow_pickle=False, **arrays)
        (directory / PARAMS_FILE).write_text(json.dumps(document))
        return directory

    def recommend(
        self, member_ids: Iterable[Any], n: int = 10, exclude_purchased: bool = False
    ) -> dict[Any, list[Any]]:
        """Return ``{member_id: [product_id, ...]}``, best first."""
        ranked = self.recommend_with_reasons(member_ids, n, exclude_purchased)
        return {member: [product for product, _, _ in offers] for member, offers in ranked.items()}

    def recommend_with_reasons(
        self, member_ids: Iterable[Any], n: int = 10, exclude_purchased: bool = False
    ) -> dict[Any, list[tuple[Any, float, str]]]:
        """Return ``{member_id: [(product_id, score, reason), ...]}``, best first.

        Members the model has not seen get the most popular products (reason ``POPULAR``);
        a known member's list is topped up the same way when the model has fewer than ``n``.
        """
        members = list(dict.fromkeys(member_ids))
        result: dict[Any, list[tuple[Any, float, str]]] = {}
        if not members or n <= 0:
            return {member: [] for member in members}
        rows = self.matrix.member_rows(members)
        product_ids = self.matrix.product_ids.tolist()
        for start in range(0, len(members), BATCH_SIZE):
            batch_rows = rows[start : start + BATCH_SIZE]
            ranking = self._rank_with_fallback(batch_rows, n, exclude_purchased)
            for i, member in enumerate(members[start : start + BATCH_SIZE]):
                offers = []
                for col, score, reason in zip(
                    ranking.columns[i], ranking.scores[i], ranking.reasons[i], strict=True
                ):
                    if col < 0:
                        break
                    offers.append((product_ids[col], float(score), REASONS[reason].value))
                result[member] = offers
        return result

    def offer_table(
        self, member_ids: Sequence[Any] | np.ndarray, n: int = 10, exclude_purchased: bool = False
    ) -> OfferTable:
        """The offers ``recommend_with_reasons`` gives these members, as columns: ranked in
        batches of ``BATCH_SIZE`` members by :meth:`rank` (with the same fallbacks), with no
        Python object per offer. A model with a faster batch path may override it.
        """
        ids = np.asarray(member_ids)
        _, first = np.unique(ids, return_index=True)
        ids = ids[np.sort(first)]
        product_ids = self.matrix.product_ids
        rows = self.matrix.member_rows(ids) if len(ids) else np.empty(0, np.int64)
        tables = [OfferTable(ids[:0], *_empty_offers(product_ids))]
        for start in range(0, len(ids) if n > 0 else 0, BATCH_SIZE):
            ranking = self._rank_with_fallback(
                rows[start : start + BATCH_SIZE], n, exclude_purchased
            )
            # a list ends at its first gap, as in recommend_with_reasons
            kept = np.cumprod(ranking.columns >= 0, axis=1).astype(bool)
            tables.append(
                OfferTable(
                    np.repeat(ids[start : start + BATCH_SIZE], kept.sum(axis=1)),
                    np.nonzero(kept)[1].astype(np.int64),
                    product_ids[ranking.columns[kept]],
                    ranking.scores[kept].astype(np.float64),
                    ranking.reasons[kept].astype(np.int8),
                )
            )
        return OfferTable.concat(tables)

    def _rank_with_fallback(self, rows: np.ndarray, n: int, exclude_purchased: bool) -> Ranking:
        """Rank known rows with the model, strangers by popularity; top up short lists."""
        columns = np.full((len(rows), n), -1, dtype=np.int64)
        scores = np.full((len(rows), n), -np.inf)
        reasons = np.full((len(rows), n), POPULAR, dtype=np.int8)
        known = np.flatnonzero(rows >= 0)
        if len(known):
            ranking = self.rank(rows[known], n, exclude_purchased)
            columns[known], scores[known], reasons[known] = (
                ranking.columns,
                ranking.scores,
                ranking.reasons,
            )
        short = np.flatnonzero(columns[:, -1] < 0)
        if len(short):
            self._top_up(rows[short], columns, scores, reasons, short, exclude_purchased)
        return Ranking(columns, scores, reasons)

    def _top_up(
        self,
        rows: np.ndarray,
        columns: np.ndarray,
        scores: np.ndarray,
        reasons: np.ndarray,
        targets: np.ndarray,
        exclude_purchased: bool,
    ) -> None:
        """Fill the -1 slots of ``targets`` with popular products not already listed (in place)."""
        n = columns.shape[1]
        popular = np.tile(self.popularity.astype(np.float64), (len(rows), 1))
        known = rows >= 0
        if exclude_purchased and known.any():
            sub = popular[known]
            block_purchased(sub, self.matrix, rows[known])
            popular[known] = sub
        for i, target in enumerate(targets):
            listed = columns[target][columns[target] >= 0]
            popular[i, listed] = -np.inf
        fill_cols, fill_scores = top_n(popular, n)
        floor = np.where(np.isfinite(scores[targets]), scores[targets], np.inf).min(axis=1)
        for i, target in enumerate(targets):
            free = np.flatnonzero(columns[target] < 0)
            take = fill_cols[i][fill_cols[i] >= 0][: len(free)]
            slots = free[: len(take)]
            columns[target, slots] = take
            # fallback items rank below everything the model chose, in popularity order
            values = fill_scores[i][: len(take)]
            if np.isfinite(floor[i]):
                values = np.minimum(values, floor[i]) - 1e-9 * (1 + np.arange(len(take)))
            scores[target, slots] = values
            reasons[target, slots] = POPULAR


def _empty_offers(product_ids: np.ndarray) -> tuple[np.ndarray, ...]:
    """Ranks, products, scores and reasons of no offers (typed like real ones)."""
    return (
        np.empty(0, np.int64),
        product_ids[:0],
        np.empty(0, np.float64),
        np.empty(0, np.int8),
    )
