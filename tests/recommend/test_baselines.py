import numpy as np
import pandas as pd

from recommend.baselines import GlobalPopularity, PersonalPopularity, PlainALS
from recommend.matrix import build_matrix


def test_matrix_counts_lines_and_maps_ids(tiny: pd.DataFrame) -> None:
    matrix = build_matrix(tiny)
    assert list(matrix.member_ids) == ["a", "b", "c", "d", "e"]
    assert list(matrix.product_ids) == ["v", "w", "x", "y", "z"]
    assert matrix.counts[0, 2] == 10
    assert list(matrix.member_rows(["e", "nobody"])) == [4, -1]


def test_global_popularity_counts_buyers_not_lines(tiny: pd.DataFrame) -> None:
    # x: 10 lines by one member; y: 4 buyers; z: 2 buyers
    model = GlobalPopularity.fit(tiny)
    assert model.recommend(["b"], n=3)["b"] == ["y", "z", "v"]
    assert model.recommend(["b"], n=3, exclude_purchased=True)["b"] == ["v", "w", "x"]


def test_personal_popularity_ranks_own_counts_then_tops_up(tiny: pd.DataFrame) -> None:
    model = PersonalPopularity.fit(tiny)
    assert model.recommend(["a"], n=4)["a"] == ["x", "w", "y", "z"]
    reasons = [r for _, _, r in model.recommend_with_reasons(["a"], n=4)["a"]]
    assert reasons == ["BOUGHT_OFTEN", "BOUGHT_OFTEN", "POPULAR", "POPULAR"]


def test_personal_popularity_excluding_purchases_is_global_popularity(
    shoppers: pd.DataFrame,
) -> None:
    members = list(range(0, 400, 37))
    personal = PersonalPopularity.fit(shoppers).recommend(members, 10, exclude_purchased=True)
    popular = GlobalPopularity.fit(shoppers).recommend(members, 10, exclude_purchased=True)
    assert personal == popular


def test_plain_als_filters_purchases_only_when_asked(shoppers: pd.DataFrame) -> None:
    model = PlainALS.fit(shoppers)
    bought = shoppers.groupby("member_id")["product_id"].agg(set)
    members = list(range(0, 400, 23))

    kept = model.recommend(members, n=5)
    excluded = model.recommend(members, n=5, exclude_purchased=True)

    assert any(set(kept[m]) & bought[m] for m in members)
    assert all(not set(excluded[m]) & bought[m] for m in members)
    assert all(len(excluded[m]) == 5 for m in members)


def test_plain_als_unknown_member_gets_popularity(shoppers: pd.DataFrame) -> None:
    model = PlainALS.fit(shoppers)
    expected = list(np.argsort(-model.popularity, kind="stable")[:3])
    assert model.recommend(["stranger"], n=3)["stranger"] == [
        model.matrix.product_ids[i] for i in expected
    ]
