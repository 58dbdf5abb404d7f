"""The recommender on Apache Spark: the same pipeline as :mod:`recommend.blend`, distributed.

Order lines come in as Parquet (``member_id, product_id, timestamp, quantity``; what
``loyalty export order-lines`` writes), features are Spark DataFrames with the columns of
:mod:`recommend.features`, collaborative filtering is MLlib ALS with implicit preferences, the
two rankers are MLlib logistic regressions, and the top-N per member is a window on the cluster.
:func:`recommend.spark.pipeline.run` evaluates on a holdout, trains on everything and writes
offers Parquet with ``metrics.json`` beside them. Needs the ``[spark]`` extra (pyspark, Java 17).

Usage::

    spark = recommend.spark.session.start("local[2]")
    metrics = recommend.spark.pipeline.run(spark, "lines/", "out/", holdout_weeks=4)
"""
