"""A SparkSession configured for the pipeline: UTC, small shuffles, no UI, quiet logs."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"


def start(
    master: str | None = None,
    app_name: str = "loyalty-offers",
    shuffle_partitions: int | None = None,
    checkpoint_dir: str | None = None,
) -> SparkSession:
    """Start (or join) a SparkSession on ``master`` (default ``local[2]``).

    In local mode shuffles use 4 partitions (Spark's 200 would be mostly scheduling); on a
    cluster Spark's own defaults apply unless ``shuffle_partitions`` is given. On a cluster
    ``checkpoint_dir`` must be on storage every worker sees (HDFS, S3, a shared mount).
    Raises ``RuntimeError`` with the install hint when pyspark is missing.
    """
    master = master or DEFAULT_MASTER
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise RuntimeError(
            "the Spark engine needs pyspark: pip install 'loyalty-engine[spark]' (and Java 17)"
        ) from exc
    # executors run the driver's interpreter, so their Python matches ours
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.adaptive.enabled", "true")
        # ALS factors carry one lineage step per iteration: deep enough on real data to
        # overflow the default thread stack when a task is deserialised
        .config("spark.driver.extraJavaOptions", "-Xss16m")
        .config("spark.executor.extraJavaOptions", "-Xss16m")
    )
    if shuffle_partitions is None and master.startswith("local"):
        shuffle_partitions = 4
    if shuffle_partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        builder = builder.config("spark.default.parallelism", str(shuffle_partitions))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if spark.sparkContext.getCheckpointDir() is None:
        # with a checkpoint directory MLlib ALS cuts its lineage every 10 iterations
        spark.sparkContext.setCheckpointDir(checkpoint_dir or tempfile.mkdtemp(prefix="spark-"))
    return spark
