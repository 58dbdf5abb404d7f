"""``loyalty retrain --engine spark``: export, the Spark run, publish the offers directory.

1. the order lines go out as Parquet (:mod:`loyalty.offers.lake`) into the new version's
   directory under the model store;
2. :func:`recommend.spark.pipeline.run` evaluates on the holdout, trains on everything and
   writes offers Parquet and ``metrics.json`` beside them (on ``--spark-master``, or local);
3. :func:`loyalty.offers.offers_dir.publish_offers_dir` refuses it below popularity or
   publishes it with the same versioned switch as the local engine.

On a cluster the version directory must be on storage the workers see (a shared mount); the
exported lines are deleted once the run has read them.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loyalty.offers.lake import export_order_lines
from loyalty.offers.offers_dir import publish_offers_dir
from loyalty.offers.publish import RetrainResult, new_version

LINES_DIR = "lines"


def _run_spark(master: str | None, lines: Path, out: Path, holdout_weeks: int) -> dict[str, Any]:
    from recommend.spark import pipeline, session

    spark = session.start(master)
    return pipeline.run(spark, lines, out, holdout_weeks=holdout_weeks)


async def retrain_on_spark(
    model_dir: str | Path,
    *,
    master: str | None = None,
    holdout_weeks: int = 4,
    keep: int = 3,
    now: datetime | None = None,
) -> RetrainResult:
    """Train on Spark and publish, or refuse (nothing published, the active version stays)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    out = Path(model_dir) / new_version(now or datetime.now(UTC))
    exported = await export_order_lines(out / LINES_DIR)
    timings["export"] = time.perf_counter() - started
    if not exported.lines:
        shutil.rmtree(out, ignore_errors=True)
        return RetrainResult(out.name, False, "refused: there are no order lines to learn from")
    step = time.perf_counter()
    try:
        document = await asyncio.to_thread(_run_spark, master, exported.path, out, holdout_weeks)
    except ValueError as exc:
        shutil.rmtree(out, ignore_errors=True)
        return RetrainResult(out.name, False, f"refused: {exc}", timings=timings)
    finally:
        shutil.rmtree(exported.path, ignore_errors=True)
    timings["spark"] = time.perf_counter() - step
    step = time.perf_counter()
    result = await publish_offers_dir(out, model_dir, keep=keep, version=out.name)
    timings["publish"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - started
    if not result.published:
        shutil.rmtree(out, ignore_errors=True)
    result.timings = {**timings, **{f"spark {k}": v for k, v in document["timings"].items()}}
    return result
