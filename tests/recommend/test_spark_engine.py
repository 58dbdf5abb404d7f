"""The Spark engine in local mode: same statistics, split and metrics as the local engine."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from recommend.evaluation import relevant_products, temporal_split
from recommend.history import summarise as local_summarise
from recommend.matrix import build_matrix
from tests.recommend.conftest import lines

pytestmark = pytest.mark.slow

pipeline = pytest.importorskip("recommend.spark.pipeline")
spark_model = pytest.importorskip("recommend.spark.model")
spark_history = pytest.importorskip("recommend.spark.history")


def shop() -> pd.DataFrame:
    """Member i buys its own product 100+i every week and 1 every other week; odd members try
    2 early and 3 late, even members find 2 late (a new product for the rankers to learn)."""
    rows: list[tuple[object, object, int]] = []
    for member in range(1, 9):
        rows += [(member, 100 + member, 7 * w + member % 3) for w in range(16)]
        rows += [(member, 1, 7 * w + 2) for w in range(0, 16, 2)]
        if member % 2:
            rows += [(member, 2, 30 + member), (member, 3, 90 + member)]
        else:
            rows += [(member, 2, 80 + member)]
    return lines(rows)


def frame(spark_frame) -> pd.DataFrame:
    return pd.DataFrame([row.asDict() for row in spark_frame.collect()])


@pytest.fixture(scope="module")
def interactions() -> pd.DataFrame:
    return shop()


@pytest.fixture(scope="module")
def spark_lines(spark, interactions, tmp_path_factory):
    path = pipeline.write_interactions(interactions, tmp_path_factory.mktemp("lines"))
    return pipeline.read_lines(spark, path).persist()


# few iterations keep local Spark quick; a low positive threshold makes the toy shop
# train both MLlib rankers instead of falling back to the fixed rule
def config():
    return spark_model.SparkConfig(iterations=5, ranker_iterations=30, min_positives=3)


@pytest.fixture(scope="module")
def model(spark_lines):
    return spark_model.SparkBlended.fit(spark_lines, config())


def test_history_statistics_equal_the_local_ones(spark_lines, interactions):
    # given the local statistics at the last purchase
    matrix = build_matrix(interactions)
    local = local_summarise(interactions, matrix)
    now = int(local.now.astype("datetime64[us]").astype(np.int64))

    # when Spark computes them from the Parquet lines
    history = spark_history.summarise(spark_lines, now)

    # then every pair, member and product statistic is the same
    pairs = frame(history.pairs).sort_values(["member_id", "product_id"])
    for name in ("lines", "days", "last_age", "first_age", "decayed_short", "decayed_long"):
        np.testing.assert_allclose(pairs[name].to_numpy(), getattr(local, name), rtol=1e-9)
    members = frame(history.members).sort_values("member_id")
    np.testing.assert_allclose(members["member_trips"], local.member_trips)
    np.testing.assert_allclose(members["member_active_trips"], local.member_active_trips)
    np.testing.assert_allclose(members["member_since_last"], local.member_since_last)
    products = frame(history.products).sort_values("product_id")
    np.testing.assert_allclose(products["product_buyers"], local.product_buyers)
    np.testing.assert_allclose(products["product_repeat_logit"], local.product_repeat_logit)


def test_split_and_relevant_sets_equal_the_local_evaluation(spark_lines, interactions):
    train, test = temporal_split(interactions, 4)
    expected_all, expected_new = relevant_products(train, test)

    spark_train, spark_test = pipeline.split(spark_lines, 4)
    got_all, got_new = pipeline.relevant_products(spark_train, spark_test)

    assert spark_train.count() == len(train) and spark_test.count() == len(test)
    assert got_all == expected_all
    assert got_new == expected_new


def test_own_weekly_product_leads_and_new_only_excludes_purchases(model):
    ranked = pipeline.SparkRecommender(model)
    assert model.rankers is not None

    offers = ranked.recommend([1, 2, 3], n=3)
    new_only = ranked.recommend([1, 2], n=3, exclude_purchased=True)

    # the weekly own product is bought in every window; what follows is the rankers' call
    assert all(100 + m in offers[m][:2] for m in (1, 2, 3))
    assert all(len(products) == 3 for products in offers.values())
    assert not {101, 1, 2, 3} & set(new_only[1])
    assert not {102, 1, 2} & set(new_only[2])


def test_run_writes_offers_for_every_member_and_the_fallback(spark, interactions, tmp_path):
    source = pipeline.write_interactions(interactions, tmp_path / "lines")

    document = pipeline.run(spark, source, tmp_path / "out", holdout_weeks=4, n=5, config=config())

    offers = pq.read_table(tmp_path / "out" / "offers").to_pandas()
    assert set(offers["member_id"].dropna().astype(int)) == set(range(1, 9))
    assert (
        offers.groupby(offers["member_id"].fillna(-1))["rank"].apply(sorted).map(list).tolist()
        == [[0, 1, 2, 3, 4]] * 9
    )
    fallback = offers[offers["member_id"].isna()].sort_values("rank")
    assert fallback["product_id"].iloc[0] == 1 and set(fallback["reason"]) == {"POPULAR"}
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["metrics"] == document["metrics"]
    assert saved["metrics"]["members"] == 8
    assert saved["metrics"]["recall@10"] >= saved["metrics"]["popularity_recall@10"]
    assert saved["members"] == 8 and saved["lines"] == len(interactions)
