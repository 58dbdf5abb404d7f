"""The evaluate table with the Spark engine's row beside the local ones.

Same data, split, members and metric code as :func:`recommend.evaluation.evaluate`: the Spark
fitter receives the pandas training lines, writes them as Parquet and trains on Spark; the
top-k lists come back to the driver and are scored by the shared ``ranking_metrics``.
"""

from __future__ import annotations

from collections.abc import Sequence

from recommend.evaluation import (
    DEFAULT_MODELS,
    OURS,
    EvaluationRow,
    evaluate,
    format_table,
)

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
