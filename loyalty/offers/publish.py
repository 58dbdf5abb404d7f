"""Retrain from the database, evaluate on recent history, publish a versioned model and its offers.

A new version is written next to the active one (model files plus precomputed offer rows), then
made active by one UPDATE, so readers see either the old or the new version, never a mix. A model
that scores below global popularity on the holdout is refused and the active version stays.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loyalty import db
from loyalty.offers.interactions import load_interactions
from models import Experiment, ExperimentArm, MemberOffer, ModelVersion
from recommend import batch
from recommend.base import REASONS, OfferTable, Recommender
from recommend.baselines import GlobalPopularity
from recommend.evaluation import evaluate_model, relevant_products, temporal_split

log = logging.getLogger(__name__)
FALLBACK_MEMBER = -1
OFFERS_PER_MEMBER = 20
# Members of the holdout weeks the publish decision is judged on, at most (a fixed-seed sample).
HOLDOUT_MEMBERS = 10_000


class RetrainRefused(Exception):
    """The new model is not good enough (or there is nothing to learn from)."""


@dataclass
class RetrainResult:
    version: str
    published: bool
    message: str
    metrics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def new_version(now: datetime) -> str:
    """The name of a version trained at ``now``: sortable by time, unique."""
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def refusal(metrics: dict[str, Any]) -> str | None:
    """Why a model with these holdout metrics must not be published (None: it may be)."""
    if metrics["recall@10"] < metrics["popularity_recall@10"]:
        return (
            f"refused: recall@10 {metrics['recall@10']:.4f} is below global popularity's "
            f"{metrics['popularity_recall@10']:.4f}; the active version stays"
        )
    return None


def _holdout_metrics(
    interactions: pd.DataFrame, fitter: Callable[[pd.DataFrame], Recommender], weeks: int
) -> dict[str, Any]:
    train, test = temporal_split(interactions, weeks)
    members = test["member_id"].unique()
    if len(members) > HOLDOUT_MEMBERS:  # a fixed-seed sample is enough to judge the model
        sample = np.random.default_rng(0).choice(members, HOLDOUT_MEMBERS, replace=False)
        test = test[test["member_id"].isin(sample)]
    relevant_all, relevant_new = relevant_products(train, test)
    if not relevant_all:
        raise RetrainRefused(f"no member bought anything in the last {weeks} weeks to evaluate on")
    ours_all, ours_new = evaluate_model(fitter(train), relevant_all, relevant_new, 10)
    pop_all, pop_new = evaluate_model(GlobalPopularity.fit(train), relevant_all, relevant_new, 10)
    # Plain floats: the metrics are stored as JSON, and orjson (which tortoise uses when it is
    # installed) refuses numpy scalars.
    return {
        "holdout_weeks": weeks,
        "members": int(ours_all.members),
        # plain floats: the metrics are stored as JSON
        "recall@10": float(ours_all.recall),
        "ndcg@10": float(ours_all.ndcg),
        "recall@10_new": float(ours_new.recall),
        "popularity_recall@10": float(pop_all.recall),
        "popularity_recall@10_new": float(pop_new.recall),
    }


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Numpy scalars as Python numbers, so the JSON columns can hold them (small data sets
    make some figures numpy floats)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in values.items()}


async def retrain(
    model_dir: str | Path,
    *,
    now: datetime | None = None,
    holdout_weeks: int = 4,
    keep: int = 3,
    fitter: Callable[[pd.DataFrame], Recommender] | None = None,
    processes: int | None = None,
) -> RetrainResult:
    """Train, evaluate, and publish a new version unless it scores below popularity.

    Offers are precomputed by ``processes`` worker processes (by default one per core, fewer
    for few members: :func:`recommend.batch.processes_for`)."""
    import recommend

    fitter = fitter or recommend.fit
    now = now or datetime.now(UTC)
    version = new_version(now)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    interactions = await load_interactions()
    timings["load"] = time.perf_counter() - started
    if interactions.empty:
        return RetrainResult(version, False, "refused: there are no order lines to learn from")
    try:
        step = time.perf_counter()
        metrics = _holdout_metrics(interactions, fitter, holdout_weeks)
        timings["evaluate"] = time.perf_counter() - step
    except RetrainRefused as exc:
        return RetrainResult(version, False, f"refused: {exc}", timings=timings)
    refused = refusal(metrics)
    if refused:
        return RetrainResult(version, False, refused, metrics, timings)
    step = time.perf_counter()
    model = fitter(interactions)
    timings["fit"] = time.perf_counter() - step
    path = Path(model_dir) / version
    model.save(path)
    step = time.perf_counter()
    members = np.append(interactions["member_id"].unique(), FALLBACK_MEMBER)
    workers = processes or batch.processes_for(len(members))
    offers = await asyncio.to_thread(
        batch.offer_table, model, path, members, OFFERS_PER_MEMBER, processes=workers
    )
    timings["precompute"] = time.perf_counter() - step
    counts = {"precomputed members": len(members), "precompute processes": workers}
    step = time.perf_counter()
    await _publish(version, path, metrics, model, interactions, offers)
    timings["publish"] = time.perf_counter() - step
    await prune(keep)
    timings["total"] = time.perf_counter() - started
    return RetrainResult(version, True, f"published {version}", metrics, timings, counts)


async def _publish(
    version: str,
    path: Path,
    metrics: dict[str, Any],
    model: Recommender,
    interactions: pd.DataFrame,
    offers: OfferTable,
) -> None:
    params, _ = model.state()
    row = await ModelVersion.create(
        version=version,
        path=str(path),
        active=False,
        metrics=_plain(metrics),
        params=_plain({"kind": model.kind, **params}),
        data_from=interactions["timestamp"].min().to_pydatetime().replace(tzinfo=UTC),
        data_to=interactions["timestamp"].max().to_pydatetime().replace(tzinfo=UTC),
        members=len(np.unique(offers.member_ids)) - 1,
    )
    member_ids = offers.member_ids.astype(object)
    member_ids[offers.member_ids == FALLBACK_MEMBER] = None
    reasons = np.array([reason.value for reason in REASONS], dtype=object)
    await db.bulk_insert_columns(
        db.connection(),
        MemberOffer,
        {
            "version_id": [row.id] * len(offers),
            "member_id": member_ids.tolist(),
            "rank": offers.ranks.tolist(),
            "product_id": offers.product_ids.astype(np.int64).tolist(),
            "score": offers.scores.tolist(),
            "reason": reasons[offers.reasons].tolist(),
        },
    )
    await activate(row.id)


async def versions() -> list[ModelVersion]:
    """The kept model versions, newest first, with their holdout figures and the active flag."""
    return await ModelVersion.all().order_by("-id")


async def activate(version_id: int) -> None:
    """Make one version the active one, in one statement."""
    async with db.transaction() as conn:
        await conn.execute_query(
            "UPDATE model_versions SET active = (id = " + str(int(version_id)) + ")"
        )


async def prune(keep: int) -> None:
    """Keep the active version, the newest ``keep - 1`` others and those an experiment that has
    not ended serves."""
    versions = await ModelVersion.all().order_by("-id")
    running = await Experiment.filter(ends_at__gt=datetime.now(UTC)).values_list("id", flat=True)
    in_use = set(
        await ExperimentArm.filter(
            experiment_id__in=running, model_version_id__not_isnull=True
        ).values_list("model_version_id", flat=True)
    )
    kept = 0
    for version in versions:
        if version.id in in_use:
            continue
        if version.active or kept < keep - 1:
            kept += 0 if version.active else 1
            continue
        await version.delete()
        shutil.rmtree(version.path, ignore_errors=True)
