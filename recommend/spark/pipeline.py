"""The Spark run: read order lines Parquet, evaluate on a holdout, train, write offers Parquet.

Output directory of :func:`run`::

    offers/        Parquet: member_id (null = the popularity fallback), rank, product_id,
                   score, reason; ``n`` rows per member
    metrics.json   holdout metrics (the keys ``loyalty retrain`` reports) and what was trained

The holdout uses the split of :func:`recommend.evaluation.temporal_split` (the same cutoff
function) and the metric code of :func:`recommend.evaluation.ranking_metrics`: only the test
window's purchases and the top-k lists of the evaluated members reach the driver.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recommend.evaluation import Metrics, holdout_cutoff, ranking_metrics
from recommend.matrix import timestamps
from recommend.spark.model import SparkBlended, SparkConfig

LINE_COLUMNS = ("member_id", "product_id", "timestamp", "quantity")
OFFERS_DIR = "offers"
METRICS_FILE = "metrics.json"
ENGINE = "spark"


def read_lines(spark: SparkSession, path: str | Path) -> DataFrame:
    """Order lines Parquet as ``member_id, product_id, micros`` (UTC microseconds)."""
    frame = spark.read.parquet(str(path))
    missing = [c for c in LINE_COLUMNS[:3] if c not in frame.columns]
    if missing:
        raise ValueError(f"order lines at {path} lack column(s): {', '.join(missing)}")
    return frame.select(
        F.col("member_id").cast("long").alias("member_id"),
        F.col("product_id").cast("long").alias("product_id"),
        F.unix_micros(F.col("timestamp").cast("timestamp")).alias("micros"),
    )


def write_interactions(interactions: pd.DataFrame, path: str | Path) -> Path:
    """Write a pandas interactions frame as order lines Parquet (timestamps as UTC micros)."""
    stamps = timestamps(interactions).astype("datetime64[us]")
    table = pa.table(
        {
            "member_id": pa.array(interactions["member_id"].to_numpy(np.int64)),
            "product_id": pa.array(interactions["product_id"].to_numpy(np.int64)),
            "timestamp": pa.array(stamps, type=pa.timestamp("us")).cast(
                pa.timestamp("us", tz="UTC")
            ),
        }
    )
    target = Path(path)
    target.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target / "part-0.parquet")
    return target


def split(lines: DataFrame, holdout_weeks: int) -> tuple[DataFrame, DataFrame]:
    """``(train, test)`` at :func:`recommend.evaluation.holdout_cutoff` of the last line."""
    last = lines.agg(F.max("micros")).first()
    if last is None or last[0] is None:
        raise ValueError("no order lines")
    cutoff = holdout_cutoff(np.datetime64(int(last[0]), "us"), holdout_weeks)
    micros = int(cutoff.astype("datetime64[us]").astype(np.int64))
    return lines.filter(F.col("micros") < micros), lines.filter(F.col("micros") >= micros)


def relevant_products(
    train: DataFrame, test: DataFrame
) -> tuple[dict[Any, set[Any]], dict[Any, set[Any]]]:
    """``(all, new)`` as :func:`recommend.evaluation.relevant_products` defines them."""
    known = train.select("member_id").distinct()
    window = test.select("member_id", "product_id").distinct().join(known, "member_id")
    new = window.join(
        train.select("member_id", "product_id").distinct(), ["member_id", "product_id"], "left_anti"
    )
    return _sets(window), _sets(new)


def _sets(pairs: DataFrame) -> dict[Any, set[Any]]:
    grouped: dict[Any, set[Any]] = {}
    for row in pairs.toLocalIterator():
        grouped.setdefault(row["member_id"], set()).add(row["product_id"])
    return grouped


def _lists(ranked: DataFrame) -> dict[Any, list[Any]]:
    rows = ranked.select("member_id", "rank", "product_id").collect()
    rows.sort(key=lambda r: (r["member_id"], r["rank"]))
    lists: dict[Any, list[Any]] = {}
    for row in rows:
        lists.setdefault(row["member_id"], []).append(row["product_id"])
    return lists


def _members(spark: SparkSession, member_ids: Iterable[Any]) -> DataFrame:
    ids = [(int(m),) for m in member_ids]
    return spark.createDataFrame(ids, schema="member_id long")


class SparkRecommender:
    """A fitted :class:`SparkBlended` behind the ``recommend`` call evaluation makes."""

    def __init__(self, model: SparkBlended) -> None:
        self.model = model

    def recommend(
        self, member_ids: Iterable[Any], n: int = 10, exclude_purchased: bool = False
    ) -> dict[Any, list[Any]]:
        """``{member_id: [product_id, ...]}``, best first (members the model has ranked)."""
        members = list(member_ids)
        if not members:
            return {}
        spark = self.model.history.pairs.sparkSession
        return _lists(self.model.rank(_members(spark, members), n, exclude_purchased))


def fitter(
    spark: SparkSession, config: SparkConfig | None = None
) -> Callable[[pd.DataFrame], SparkRecommender]:
    """A fitter for :func:`recommend.evaluation.evaluate`: pandas lines -> Parquet -> Spark."""

    def fit(interactions: pd.DataFrame) -> SparkRecommender:
        directory = Path(tempfile.mkdtemp(prefix="spark-lines-"))
        write_interactions(interactions, directory)
        lines = read_lines(spark, directory).persist()
        return SparkRecommender(SparkBlended.fit(lines, config))

    return fit


def holdout_metrics(
    lines: DataFrame, holdout_weeks: int, config: SparkConfig | None = None, k: int = 10
) -> dict[str, Any]:
    """Fit on the weeks before the holdout, score ours and global popularity on it."""
    train, test = split(lines, holdout_weeks)
    relevant_all, relevant_new = relevant_products(train, test)
    if not relevant_all:
        raise ValueError(
            f"no member bought anything in the last {holdout_weeks} weeks to evaluate on"
        )
    model = SparkBlended.fit(train.persist(), config)
    spark = lines.sparkSession
    ours_all = ranking_metrics(
        _lists(model.rank(_members(spark, relevant_all), k)), relevant_all, k
    )
    ours_new = _new_metrics(model, relevant_new, k, lambda m: model.rank(m, k, True))
    popular = [r["product_id"] for r in model.popular(k).select("product_id").collect()]
    pop_all = ranking_metrics(dict.fromkeys(relevant_all, popular), relevant_all, k)
    pop_new = _new_metrics(model, relevant_new, k, lambda m: model.popular_unbought(m, k))
    return {
        "holdout_weeks": holdout_weeks,
        "members": ours_all.members,
        "recall@10": ours_all.recall,
        "ndcg@10": ours_all.ndcg,
        "recall@10_new": ours_new.recall,
        "popularity_recall@10": pop_all.recall,
        "popularity_recall@10_new": pop_new.recall,
    }


def _new_metrics(model: SparkBlended, relevant: dict[Any, set[Any]], k: int, rank: Any) -> Metrics:
    if not relevant:
        return Metrics(0.0, 0.0, 0.0, 0)
    members = _members(model.history.pairs.sparkSession, relevant)
    return ranking_metrics(_lists(rank(members)), relevant, k)


def run(
    spark: SparkSession,
    lines_path: str | Path,
    out_dir: str | Path,
    *,
    holdout_weeks: int = 4,
    n: int = 20,
    config: SparkConfig | None = None,
) -> dict[str, Any]:
    """Evaluate, train on every line, write offers and ``metrics.json``; return the metrics.

    The metrics file is written whatever the outcome of the holdout, so a publisher can refuse
    a model below popularity; offers are written only when there is something to learn from.
    """
    config = config or SparkConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    lines = read_lines(spark, lines_path).persist()
    span = lines.agg(F.min("micros"), F.max("micros"), F.count(F.lit(1))).first()
    if span is None or not span[2]:
        raise ValueError(f"no order lines in {lines_path}")
    metrics = holdout_metrics(lines, holdout_weeks, config)
    timings["evaluate"] = time.perf_counter() - started
    step = time.perf_counter()
    model = SparkBlended.fit(lines, config)
    members = model.history.members.select("member_id")
    offers = model.rank(members, n).unionByName(model.popular(n))
    offers.write.mode("overwrite").parquet(str(out / OFFERS_DIR))
    timings["fit_and_offers"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - started
    document = {
        "engine": ENGINE,
        "metrics": metrics,
        "params": {"kind": "spark_blended", **model.params()},
        "data_from": _iso(span[0]),
        "data_to": _iso(span[1]),
        "lines": int(span[2]),
        "members": members.count(),
        "timings": timings,
    }
    (out / METRICS_FILE).write_text(json.dumps(document, indent=2))
    lines.unpersist()
    return document


def _iso(micros: int) -> str:
    return str(np.datetime64(int(micros), "us")) + "+00:00"
