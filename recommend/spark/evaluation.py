"""The evaluate table with the Spark engine's row beside the local ones.

Same data, split, members and metric code as :func:`recommend.evaluation.evaluate`: the Spark
fitter receives the pandas training lines, writes them as Parquet and trains on Spark; the
top-k lists come back to the driver and are scored by the shared ``ranking_metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from recommend.evaluation import (
    DEFAULT_MODELS,
    OURS,
    EvaluationRow,
    Fitter,
    evaluate,
    format_table,
)
from recommend.tuning import validation_interactions

SPARK_ROW = "spark (MLlib)"
#: The Spark engine's recall@10 (all purchases) must be at least this share of the local one's.
SPARK_RECALL_SHARE = 0.95


def spark_ratio(rows: Sequence[EvaluationRow]) -> float:
    """Spark's recall@10 on all purchases over the local engine's."""
    by_name = {row.model: row for row in rows}
    local = by_name[OURS].all.recall
    return by_name[SPARK_ROW].all.recall / local if local else float("inf")


def main(holdout_weeks: int = 8, master: str | None = None) -> int:
    """Print the table with the Spark row; 0 if Spark is within 5% of the local engine."""
    from recommend.data import load_completejourney
    from recommend.spark import pipeline, session

    interactions, _ = load_completejourney()
    spark = session.start(master)
    models = {**DEFAULT_MODELS, SPARK_ROW: pipeline.fitter(spark)}
    rows = evaluate(interactions, holdout_weeks=holdout_weeks, models=models)
    print(f"The Complete Journey, {holdout_weeks}-week temporal holdout")
    print(format_table(rows))
    ratio = spark_ratio(rows)
    met = "met" if ratio >= SPARK_RECALL_SHARE else "NOT met"
    print(f"spark / ours, recall@10 all: {ratio:.3f} (target >= {SPARK_RECALL_SHARE}: {met})")
    return 0 if ratio >= SPARK_RECALL_SHARE else 1


#: MLlib ALS settings compared on the validation window (the test window is never looked at).
GRID: dict[str, dict[str, Any]] = {
    "regParam 0.01": {"reg_param": 0.01},
    "regParam 0.1": {"reg_param": 0.1},
    "regParam 1": {"reg_param": 1.0},
    "32 factors": {"factors": 32},
}


def tune(
    spark: Any,
    interactions: pd.DataFrame,
    holdout_weeks: int = 8,
    offset: int = 0,
    grid: Mapping[str, Mapping[str, Any]] = GRID,
) -> list[EvaluationRow]:
    """Evaluate each setting of ``grid`` on the validation window ``offset`` weeks before the
    holdout (:func:`recommend.tuning.validation_interactions`)."""
    from recommend.spark import pipeline
    from recommend.spark.model import SparkConfig

    models: dict[str, Fitter] = {OURS: DEFAULT_MODELS[OURS]}
    for name, options in grid.items():
        models[name] = pipeline.fitter(spark, replace(SparkConfig(), **options))
    window = validation_interactions(interactions, holdout_weeks, offset)
    return evaluate(window, holdout_weeks=holdout_weeks, models=models)


def tune_main(master: str | None = None) -> int:
    """Print the validation table of :data:`GRID` on The Complete Journey."""
    from recommend.data import load_completejourney
    from recommend.spark import session

    interactions, _ = load_completejourney()
    print("validation window: the 8 weeks before the 8-week holdout")
    print(format_table(tune(session.start(master), interactions)))
    return 0


if __name__ == "__main__":
    raise SystemExit(tune_main())
