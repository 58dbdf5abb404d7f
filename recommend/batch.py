"""Offers of many members at once, across processes where there are cores for them.

Each worker process loads the saved model once (``recommend.load``: the files the publish step
wrote, so nothing is pickled) and ranks a share of the members with
:meth:`recommend.base.Recommender.offer_table`; the shares come back as columns and are joined
in member order. Workers are spawned, not forked: the caller may hold threads (a database
driver's) that a fork would copy in an unknown state.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

import numpy as np

from recommend.base import OfferTable, Recommender
from recommend.store import load

MIN_MEMBERS_PER_PROCESS = 5_000
SHARES_PER_PROCESS = 4  # smaller shares even out workers that run slower than others
_loaded: list[Recommender] = []


def available_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0))


def processes_for(members: int, cores: int | None = None) -> int:
    """How many processes are worth starting for ``members``: at most one per core and one per
    ``MIN_MEMBERS_PER_PROCESS`` members (a worker costs seconds to start)."""
    return max(1, min(cores or available_cores(), members // MIN_MEMBERS_PER_PROCESS))


def _start(path: str) -> None:
    _loaded[:] = [load(path)]


def _share(task: tuple[np.ndarray, int, bool]) -> OfferTable:
    member_ids, n, exclude_purchased = task
    return _loaded[0].offer_table(member_ids, n, exclude_purchased)


def offer_table(
    model: Recommender,
    path: str | Path,
    member_ids: Any,
    n: int,
    *,
    processes: int = 1,
    exclude_purchased: bool = False,
) -> OfferTable:
    """``model.offer_table(member_ids, n)``, ranked by ``processes`` workers that load the
    same model from ``path`` (in this process when ``processes`` is 1)."""
    ids = np.asarray(member_ids)
    _, first = np.unique(ids, return_index=True)
    ids = ids[np.sort(first)]
    if processes <= 1 or len(ids) < 2:
        return model.offer_table(ids, n, exclude_purchased)
    shares = np.array_split(ids, min(len(ids), processes * SHARES_PER_PROCESS))
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, initializer=_start, initargs=(str(path),)) as pool:
        tables = pool.map(_share, [(share, n, exclude_purchased) for share in shares])
    return OfferTable.concat(tables)
