"""Purchase history as Spark DataFrames: the statistics of :mod:`recommend.history`.

Lines are ``member_id, product_id, micros`` (microseconds since the epoch, UTC). Ages are days
before ``now`` (microseconds too), as in :func:`recommend.history.summarise`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from recommend.history import ACTIVE_DAYS, RECENT_DAYS

MICROS_PER_DAY = 86_400 * 10**6


@dataclass(frozen=True)
class SparkHistory:
    """Per pair, per member and per product statistics at ``now``.

    Attributes
    ----------
    pairs : DataFrame
        ``member_id, product_id, lines, days, last_age, first_age, decayed_short,
        decayed_long``.
    members : DataFrame
        ``member_id, member_trips, member_products, member_since_last, member_recent_trips,
        member_active_trips``.
    products : DataFrame
        ``product_id, product_buyers, product_recent_buyers, product_repeat_logit``.
    """

    now: int
    pairs: DataFrame
    members: DataFrame
    products: DataFrame


def summarise(
    lines: DataFrame,
    now: int,
    half_lives: tuple[float, float] = (30.0, 120.0),
    repeat_prior: float = 5.0,
) -> SparkHistory:
    """The :class:`SparkHistory` of ``lines`` at ``now`` (microseconds)."""
    short, long = half_lives
    age = F.greatest((F.lit(now) - F.col("micros")) / F.lit(MICROS_PER_DAY), F.lit(0.0))
    aged = lines.select("member_id", "product_id", age.alias("age")).withColumn(
        "day", F.floor("age")
    )
    pairs = aged.groupBy("member_id", "product_id").agg(
        F.count(F.lit(1)).cast("double").alias("lines"),
        F.countDistinct("day").cast("double").alias("days"),
        F.min("age").alias("last_age"),
        F.max("age").alias("first_age"),
        F.sum(F.pow(F.lit(2.0), -F.col("age") / short)).alias("decayed_short"),
        F.sum(F.pow(F.lit(2.0), -F.col("age") / long)).alias("decayed_long"),
    )
    trips = aged.select("member_id", "day").distinct()
    members = (
        trips.groupBy("member_id")
        .agg(
            F.count(F.lit(1)).cast("double").alias("member_trips"),
            F.count(F.when(F.col("day") < RECENT_DAYS, 1))
            .cast("double")
            .alias("member_recent_trips"),
            F.count(F.when(F.col("day") < ACTIVE_DAYS, 1))
            .cast("double")
            .alias("member_active_trips"),
        )
        .join(
            pairs.groupBy("member_id").agg(
                F.count(F.lit(1)).cast("double").alias("member_products"),
                F.min("last_age").alias("member_since_last"),
            ),
            "member_id",
        )
    )
    counts = pairs.groupBy("product_id").agg(
        F.count(F.lit(1)).cast("double").alias("product_buyers"),
        F.count(F.when(F.col("last_age") < RECENT_DAYS, 1))
        .cast("double")
        .alias("product_recent_buyers"),
        F.count(F.when(F.col("days") >= 2, 1)).cast("double").alias("repeaters"),
    )
    totals = counts.agg(F.sum("repeaters"), F.sum("product_buyers")).first()
    repeaters, buyers = (float(totals[0] or 0.0), float(totals[1] or 0.0)) if totals else (0, 0)
    base_rate = min(max(repeaters / max(buyers, 1.0), 1e-3), 1 - 1e-3)
    rate = (F.col("repeaters") + repeat_prior * base_rate) / (
        F.col("product_buyers") + repeat_prior
    )
    products = counts.select(
        "product_id",
        "product_buyers",
        "product_recent_buyers",
        F.log(rate / (1 - rate)).alias("product_repeat_logit"),
    )
    return SparkHistory(now, pairs, members, products)


def member_columns() -> dict[str, Column]:
    """``MEMBER_FEATURES`` of :mod:`recommend.features` from the member statistics."""
    return {
        "log_member_trips": F.log1p("member_trips"),
        "log_member_products": F.log1p("member_products"),
        "log_member_days_since_last_trip": F.log1p("member_since_last"),
        "log_member_trips_56d": F.log1p("member_active_trips"),
        "log_member_trips_28d": F.log1p("member_recent_trips"),
    }


def product_columns() -> dict[str, Column]:
    """The product features shared by bought and new candidates."""
    return {
        "log_product_buyers": F.log1p("product_buyers"),
        "log_product_recent_buyers": F.log1p("product_recent_buyers"),
        "product_repeat_logit": F.col("product_repeat_logit"),
    }


def pair_columns() -> dict[str, Column]:
    """The features of a product in the member's own history."""
    days, last, first = F.col("days"), F.col("last_age"), F.col("first_age")
    interval = (first - last) / F.greatest(days - 1, F.lit(1.0))
    return {
        "log_lines": F.log1p("lines"),
        "log_days": F.log1p("days"),
        "log_decayed_short": F.log1p("decayed_short"),
        "log_decayed_long": F.log1p("decayed_long"),
        "log_days_since_last": F.log1p("last_age"),
        "log_days_since_first": F.log1p("first_age"),
        "own_cycle_ratio": F.when(days >= 2, F.log((last + 1) / (interval + 1))).otherwise(0.0),
        "bought_on_two_days": (days >= 2).cast("double"),
    }
