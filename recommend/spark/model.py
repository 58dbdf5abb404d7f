"""The blended model on Spark: own history and MLlib ALS candidates, two MLlib rankers.

The steps and features are those of :mod:`recommend.blend` and :mod:`recommend.features`
(the feature names are taken from there, so the two engines cannot drift apart):

1. candidates per member: every product bought, plus the top ``new_candidates`` unbought
   products by ALS score and the ``popular_candidates`` unbought products with most buyers;
2. rankers: two logistic regressions (bought / new) fitted by MLlib on a temporal split of the
   lines given to :meth:`SparkBlended.fit` (history before the last ``label_weeks`` weeks ->
   purchases in them, members weighted by ``1 / sqrt(products bought in the window)``);
3. one window per member sorts both kinds by purchase probability.

With fewer than ``min_positives`` labelled purchases of either kind the fixed rule of
:mod:`recommend.blend` ranks instead. ALS candidates are read from MLlib's blocked top-k
(``recommendForUserSubset``) with ``k = new_candidates +`` the 90th percentile of products per
member, so a member who bought more products than that may get fewer ALS candidates.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from recommend.base import Reason
from recommend.features import BOUGHT_FEATURES, NEW_FEATURES
from recommend.spark.history import (
    MICROS_PER_DAY,
    SparkHistory,
    member_columns,
    pair_columns,
    product_columns,
    summarise,
)

INT32_MAX = 2**31 - 1
# the short names the interaction features of recommend.features use for their factors
_FACTOR_ALIASES = {"trips_56d": "log_member_trips_56d"}


@dataclass(frozen=True)
class SparkConfig:
    """Hyperparameters; the defaults are the local engine's tuned ones where they carry over.

    ``reg_param`` is MLlib's, which scales the penalty by each member's and product's number
    of ratings, so it is not comparable with implicit's ``regularization``; its grid is
    searched on validation windows before the holdout by
    :func:`recommend.spark.evaluation.tune`.
    """

    factors: int = 16
    reg_param: float = 0.1
    alpha: float = 1.0
    iterations: int = 15
    seed: int = 0
    half_lives: tuple[float, float] = (30.0, 120.0)
    label_weeks: int = 8
    new_candidates: int = 100
    popular_candidates: int = 50
    l2: float = 1.0
    ranker_iterations: int = 100
    min_positives: int = 50

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class LinearRanker:
    """``P(buy) = sigmoid(features @ coef + intercept)`` on the raw feature columns."""

    names: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float

    def probability(self, columns: dict[str, Column]) -> Column:
        """The purchase probability as a column expression."""
        logit: Column = F.lit(self.intercept)
        for name, weight in zip(self.names, self.coef, strict=True):
            logit = logit + F.lit(weight) * columns[name]
        return F.lit(1.0) / (F.lit(1.0) + F.exp(-logit))


def feature_columns(names: tuple[str, ...], base: dict[str, Column]) -> dict[str, Column]:
    """Each of ``names`` as a column: from ``base`` or, for ``a_x_b``, the product of both."""

    def resolve(name: str) -> Column:
        name = _FACTOR_ALIASES.get(name, name)
        if name in base:
            return base[name]
        left, sep, right = name.partition("_x_")
        if not sep:
            raise KeyError(f"no Spark column for feature {name!r}")
        return resolve(left) * resolve(right)

    return {name: resolve(name) for name in names}


def _dot(left: str, right: str) -> Column:
    products = F.zip_with(left, right, lambda x, y: x.cast("double") * y.cast("double"))
    return F.aggregate(products, F.lit(0.0), lambda total, value: total + value)


def _first_per_member(frame: DataFrame, n: int, *order: Column) -> DataFrame:
    window = Window.partitionBy("member_id").orderBy(*order)
    ranked = frame.withColumn("rank", F.row_number().over(window) - 1)
    return ranked.filter(F.col("rank") < n)


@dataclass
class SparkBlended:
    """A fitted model: history at its last purchase, ALS factors, rankers (or the fixed rule)."""

    history: SparkHistory
    als: ALSModel
    rankers: tuple[LinearRanker, LinearRanker] | None
    config: SparkConfig
    extra_candidates: int

    @classmethod
    def fit(cls, lines: DataFrame, config: SparkConfig | None = None) -> SparkBlended:
        """Learn the rankers on a split of ``lines``, then fit on all of it.

        ``lines``: ``member_id, product_id, micros`` (see :func:`recommend.spark.pipeline`).
        """
        config = config or SparkConfig()
        bounds = lines.agg(F.max("micros"), F.max("member_id"), F.max("product_id")).first()
        if bounds is None or bounds[0] is None:
            raise ValueError("no interactions to learn from")
        if max(bounds[1], bounds[2]) > INT32_MAX:
            raise ValueError("member and product ids must fit in 32 bits for MLlib ALS")
        end = int(bounds[0])
        rankers = learn_rankers(lines, end, config)
        return cls.build(lines, end, config, rankers)

    @classmethod
    def build(
        cls,
        lines: DataFrame,
        now: int,
        config: SparkConfig,
        rankers: tuple[LinearRanker, LinearRanker] | None,
    ) -> SparkBlended:
        """History at ``now`` and ALS on ``lines``, with the given rankers."""
        history = summarise(lines, now, config.half_lives)
        history.pairs.persist()
        history.members.persist()
        history.products.persist()
        ratings = history.pairs.select(
            F.col("member_id").cast("int").alias("member"),
            F.col("product_id").cast("int").alias("product"),
            F.log1p("lines").cast("float").alias("rating"),
        )
        blocks = max(1, lines.sparkSession.sparkContext.defaultParallelism)
        als = ALS(
            rank=config.factors,
            maxIter=config.iterations,
            regParam=config.reg_param,
            alpha=config.alpha,
            implicitPrefs=True,
            userCol="member",
            itemCol="product",
            ratingCol="rating",
            seed=config.seed,
            numUserBlocks=blocks,
            numItemBlocks=blocks,
            coldStartStrategy="drop",
        ).fit(ratings)
        quantile = history.members.approxQuantile("member_products", [0.9], 0.01)
        extra = math.ceil(quantile[0]) if quantile else 0
        return cls(history, als, rankers, config, extra)

    def _factors(self, frame: DataFrame) -> DataFrame:
        users = self.als.userFactors.select(
            F.col("id").cast("long").alias("member_id"), F.col("features").alias("member_f")
        )
        items = self.als.itemFactors.select(
            F.col("id").cast("long").alias("product_id"), F.col("features").alias("product_f")
        )
        joined = frame.join(users, "member_id", "left").join(items, "product_id", "left")
        score = F.when(
            F.col("member_f").isNotNull() & F.col("product_f").isNotNull(),
            _dot("member_f", "product_f"),
        ).otherwise(0.0)
        return joined.withColumn("als_score", score).drop("member_f", "product_f")

    def _with_stats(self, frame: DataFrame) -> DataFrame:
        return self._factors(
            frame.join(self.history.members, "member_id").join(self.history.products, "product_id")
        )

    def bought(self, members: DataFrame) -> DataFrame:
        """Every product ``members`` bought: ids, ``BOUGHT_FEATURES`` columns."""
        pairs = self.history.pairs.join(members, "member_id")
        base = {**pair_columns(), **product_columns(), **member_columns()}
        frame = self._with_stats(pairs)
        base["als_score"] = F.col("als_score")
        columns = feature_columns(BOUGHT_FEATURES, base)
        return frame.select(
            "member_id",
            "product_id",
            F.lit(False).alias("from_cf"),
            *(column.alias(name) for name, column in columns.items()),
        )

    def popular_unbought(self, members: DataFrame, n: int) -> DataFrame:
        """The ``n`` products with most buyers each member has not bought (``rank`` from 0)."""
        top = (
            self.history.products.orderBy(F.desc("product_buyers"), F.asc("product_id"))
            .limit(n + self.extra_candidates)
            .select("product_id", "product_buyers")
        )
        pairs = members.crossJoin(F.broadcast(top)).join(
            self.history.pairs.select("member_id", "product_id"),
            ["member_id", "product_id"],
            "left_anti",
        )
        return _first_per_member(pairs, n, F.desc("product_buyers"), F.asc("product_id"))

    def new(self, members: DataFrame) -> DataFrame:
        """Unbought ALS and popular candidates of ``members``: ids, ``NEW_FEATURES`` columns."""
        config = self.config
        users = members.select(F.col("member_id").cast("int").alias("member"))
        k = config.new_candidates + self.extra_candidates
        proposed = self.als.recommendForUserSubset(users, k).select(
            F.col("member").cast("long").alias("member_id"),
            F.explode("recommendations").alias("r"),
        )
        proposed = proposed.select(
            "member_id",
            F.col("r.product").cast("long").alias("product_id"),
            F.col("r.rating").alias("rating"),
        ).join(
            self.history.pairs.select("member_id", "product_id"),
            ["member_id", "product_id"],
            "left_anti",
        )
        from_cf = _first_per_member(
            proposed, config.new_candidates, F.desc("rating"), F.asc("product_id")
        ).select("member_id", "product_id", F.lit(True).alias("from_cf"))
        popular = self.popular_unbought(members, config.popular_candidates).select(
            "member_id", "product_id", F.lit(False).alias("from_cf")
        )
        candidates = (
            from_cf.unionByName(popular)
            .groupBy("member_id", "product_id")
            .agg(F.max("from_cf").alias("from_cf"))
        )
        base = {**product_columns(), **member_columns(), "als_score": F.col("als_score")}
        columns = feature_columns(NEW_FEATURES, base)
        return self._with_stats(candidates).select(
            "member_id",
            "product_id",
            "from_cf",
            *(column.alias(name) for name, column in columns.items()),
        )

    def rank(self, members: DataFrame, n: int, exclude_purchased: bool = False) -> DataFrame:
        """Top ``n`` offers of ``members`` (column ``member_id``): ``member_id, rank,
        product_id, score, reason``; bought and new blended, new ones only if asked."""
        new = self.new(members)
        new_cols = {name: F.col(name) for name in NEW_FEATURES}
        if self.rankers is not None:
            new_score = self.rankers[1].probability(new_cols)
        else:  # fixed rule: new products by ALS score, below every bought one
            new_score = F.lit(0.5) / (F.lit(1.0) + F.exp(-F.col("als_score")))
        reason = F.when(F.col("from_cf"), F.lit(Reason.SIMILAR_MEMBERS.value)).otherwise(
            F.lit(Reason.POPULAR.value)
        )
        scored = new.select(
            "member_id", "product_id", new_score.alias("score"), reason.alias("reason")
        )
        if not exclude_purchased:
            bought = self.bought(members)
            bought_cols = {name: F.col(name) for name in BOUGHT_FEATURES}
            if self.rankers is not None:
                bought_score = self.rankers[0].probability(bought_cols)
            else:  # fixed rule: by order lines, then recency
                bought_score = (
                    F.lit(1.0)
                    + F.expm1("log_lines")
                    + F.lit(1.0) / (F.lit(2.0) + F.expm1("log_days_since_last"))
                )
            scored = scored.unionByName(
                bought.select(
                    "member_id",
                    "product_id",
                    bought_score.alias("score"),
                    F.lit(Reason.BOUGHT_OFTEN.value).alias("reason"),
                )
            )
        top = _first_per_member(scored, n, F.desc("score"), F.asc("product_id"))
        return top.select("member_id", "rank", "product_id", "score", "reason")

    def popular(self, n: int) -> DataFrame:
        """The fallback list: ``n`` products by buyers, score = share of members who bought."""
        members = self.history.members.count()
        return (
            self.history.products.orderBy(F.desc("product_buyers"), F.asc("product_id"))
            .limit(n)
            .select(
                F.lit(None).cast("long").alias("member_id"),
                "product_id",
                (F.col("product_buyers") / F.lit(max(members, 1))).alias("score"),
                F.lit(Reason.POPULAR.value).alias("reason"),
            )
            .withColumn(
                "rank",
                F.row_number().over(Window.orderBy(F.desc("score"), F.asc("product_id"))) - 1,
            )
            .select("member_id", "rank", "product_id", "score", "reason")
        )

    def params(self) -> dict[str, Any]:
        """JSON-able description: config, reference time and the rankers' coefficients."""
        rankers = None
        if self.rankers is not None:
            rankers = {
                kind: {"names": list(r.names), "coef": list(r.coef), "intercept": r.intercept}
                for kind, r in zip(("bought", "new"), self.rankers, strict=True)
            }
        return {
            "config": self.config.to_json(),
            "now_micros": self.history.now,
            "rankers": rankers,
        }


def learn_rankers(
    lines: DataFrame, end: int, config: SparkConfig
) -> tuple[LinearRanker, LinearRanker] | None:
    """Fit both rankers on history up to ``end - label_weeks`` -> purchases after it.

    None (use the fixed rule) when either kind has fewer than ``min_positives`` positives.
    """
    cutoff = end - config.label_weeks * 7 * MICROS_PER_DAY
    past = lines.filter(F.col("micros") <= cutoff)
    future = lines.filter((F.col("micros") > cutoff) & (F.col("micros") <= end))
    if past.isEmpty() or future.isEmpty():
        return None
    inner = SparkBlended.build(past, cutoff, config, None)
    bought_in_window = future.select("member_id", "product_id").distinct()
    breadth = bought_in_window.groupBy("member_id").agg(F.count(F.lit(1)).alias("breadth"))
    active = breadth.join(inner.history.members.select("member_id"), "member_id").select(
        "member_id"
    )
    labels = bought_in_window.withColumn("label", F.lit(1.0))
    fitted = []
    for names, candidates in (
        (BOUGHT_FEATURES, inner.bought(active)),
        (NEW_FEATURES, inner.new(active)),
    ):
        examples = (
            candidates.join(labels, ["member_id", "product_id"], "left")
            .fillna(0.0, subset=["label"])
            .join(breadth, "member_id")
            .withColumn("weight", F.lit(1.0) / F.sqrt("breadth"))
        )
        assembled = VectorAssembler(inputCols=list(names), outputCol="features").transform(examples)
        assembled = assembled.select("features", "label", "weight").persist()
        totals = assembled.agg(F.sum("label"), F.sum("weight")).first()
        positives = float(totals[0] or 0.0) if totals else 0.0
        weight = float(totals[1] or 0.0) if totals else 0.0
        if positives < config.min_positives:
            assembled.unpersist()
            return None
        model = LogisticRegression(
            featuresCol="features",
            labelCol="label",
            weightCol="weight",
            regParam=config.l2 / weight,
            maxIter=config.ranker_iterations,
            standardization=True,
        ).fit(assembled)
        assembled.unpersist()
        fitted.append(
            LinearRanker(
                tuple(names),
                tuple(float(c) for c in model.coefficients.toArray()),
                float(model.intercept),
            )
        )
    return fitted[0], fitted[1]
