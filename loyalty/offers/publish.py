"""Retrain from the database, evaluate on recent history, publish a versioned model and its offers.

A new version is written next to the active one (model files plus precomputed offer rows), then
made active by one UPDATE, so readers see either the old or the new version, never a mix. A model
that scores below global popularity on the holdout is refused and the active version stays.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from tortoise.transactions import in_transaction

from models import MemberOffer, ModelVersion, OrderLine
from recommend.base import Recommender
from recommend.baselines import GlobalPopularity
from recommend.evaluation import evaluate_model, relevant_products, temporal_split

log = logging.getLogger(__name__)
FALLBACK_MEMBER = -1
OFFERS_PER_MEMBER = 20


class RetrainRefused(Exception):
    """The new model is not good enough (or there is nothing to learn from)."""


@dataclass
class RetrainResult:
    version: str
    published: bool
    message: str
    metrics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


async def load_interactions() -> pd.DataFrame:
    """Order lines as ``member_id, product_id, timestamp, quantity`` (refunds not subtracted)."""
    rows = await OrderLine.all().values_list(
        "order__member_id", "product_id", "order__placed_at", "quantity"
    )
    frame = pd.DataFrame(rows, columns=["member_id", "product_id", "timestamp", "quantity"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_localize(None)
    return frame


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
    relevant_all, relevant_new = relevant_products(train, test)
    if not relevant_all:
        raise RetrainRefused(f"no member bought anything in the last {weeks} weeks to evaluate on")
    ours_all, ours_new = evaluate_model(fitter(train), relevant_all, relevant_new, 10)
    pop_all, pop_new = evaluate_model(GlobalPopularity.fit(train), relevant_all, relevant_new, 10)
    return {
        "holdout_weeks": weeks,
        "members": ours_all.members,
        "recall@10": ours_all.recall,
        "ndcg@10": ours_all.ndcg,
        "recall@10_new": ours_new.recall,
        "popularity_recall@10": pop_all.recall,
        "popularity_recall@10_new": pop_new.recall,
    }


async def retrain(
    model_dir: str | Path,
    *,
    now: datetime | None = None,
    holdout_weeks: int = 4,
    keep: int = 3,
    fitter: Callable[[pd.DataFrame], Recommender] | None = None,
) -> RetrainResult:
    """Train, evaluate, and publish a new version unless it scores below popularity."""
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
    members = interactions["member_id"].unique().tolist()
    offers = model.recommend_with_reasons([*members, FALLBACK_MEMBER], n=OFFERS_PER_MEMBER)
    timings["precompute"] = time.perf_counter() - step
    step = time.perf_counter()
    await _publish(version, path, metrics, model, interactions, offers)
    timings["publish"] = time.perf_counter() - step
    await prune(keep)
    timings["total"] = time.perf_counter() - started
    return RetrainResult(version, True, f"published {version}", metrics, timings)


async def _publish(
    version: str,
    path: Path,
    metrics: dict[str, Any],
    model: Recommender,
    interactions: pd.DataFrame,
    offers: dict[Any, list[tuple[Any, float, str]]],
) -> None:
    params, _ = model.state()
    row = await ModelVersion.create(
        version=version,
        path=str(path),
        active=False,
        metrics=metrics,
        params={"kind": model.kind, **params},
        data_from=interactions["timestamp"].min().to_pydatetime().replace(tzinfo=UTC),
        data_to=interactions["timestamp"].max().to_pydatetime().replace(tzinfo=UTC),
        members=len(offers) - 1,
    )
    batch: list[MemberOffer] = []
    for member_id, ranked in offers.items():
        for rank, (product_id, score, reason) in enumerate(ranked):
            batch.append(
                MemberOffer(
                    version_id=row.id,
                    member_id=None if member_id == FALLBACK_MEMBER else int(member_id),
                    rank=rank,
                    product_id=int(product_id),
                    score=float(score),
                    reason=reason,
                )
            )
        if len(batch) >= 5000:
            await MemberOffer.bulk_create(batch)
            batch = []
    if batch:
        await MemberOffer.bulk_create(batch)
    await activate(row.id)


async def activate(version_id: int) -> None:
    """Make one version the active one, in one statement."""
    async with in_transaction() as conn:
        await conn.execute_query(
            "UPDATE model_versions SET active = (id = " + str(int(version_id)) + ")"
        )


async def prune(keep: int) -> None:
    """Keep the active version and the newest ``keep - 1`` others."""
    versions = await ModelVersion.all().order_by("-id")
    kept = 0
    for version in versions:
        if version.active or kept < keep - 1:
            kept += 0 if version.active else 1
            continue
        await version.delete()
        shutil.rmtree(version.path, ignore_errors=True)
