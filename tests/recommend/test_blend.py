import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recommend
from recommend import BlendedRecommender
from recommend.base import PARAMS_FILE
from recommend.baselines import GlobalPopularity
from recommend.blend import ListRankers
from recommend.features import (
    BOUGHT_FEATURES,
    JOINT_FEATURES,
    NEW_FEATURES,
    Candidates,
    joint_features,
)


def test_tiny_data_uses_fixed_rule_and_puts_the_habit_first(tiny: pd.DataFrame) -> None:
    model = recommend.fit(tiny)
    assert model.rankers is None
    assert model.recommend(["a"], n=3)["a"][0] == "x"


def test_learned_model_puts_the_habit_first(
    shoppers: pd.DataFrame, shoppers_model: BlendedRecommender
) -> None:
    model = shoppers_model
    assert model.rankers is not None
    product, score, reason = model.recommend_with_reasons([0], n=5)[0][0]
    assert (product, reason) == (0, "BOUGHT_OFTEN")
    assert 0.0 < score <= 1.0


def test_exclude_purchased_never_returns_bought_products(
    shoppers: pd.DataFrame, shoppers_model: BlendedRecommender
) -> None:
    model = shoppers_model
    bought = shoppers.groupby("member_id")["product_id"].agg(set)

    offers = model.recommend_with_reasons(list(range(400)), n=10, exclude_purchased=True)

    assert all(len(items) == 10 for items in offers.values())
    assert all(not {p for p, _, _ in items} & bought[m] for m, items in offers.items())
    assert {r for items in offers.values() for _, _, r in items} <= {"SIMILAR_MEMBERS", "POPULAR"}


def test_lists_are_best_first_and_repeat_purchases_allowed(
    shoppers: pd.DataFrame, shoppers_model: BlendedRecommender
) -> None:
    model = shoppers_model
    offers = model.recommend_with_reasons([5, 6], n=10)
    for items in offers.values():
        scores = [s for _, s, _ in items]
        assert scores == sorted(scores, reverse=True)
        assert len({p for p, _, _ in items}) == 10
        assert items[0][2] == "BOUGHT_OFTEN"


def test_unknown_member_gets_global_popularity(
    shoppers: pd.DataFrame, shoppers_model: BlendedRecommender
) -> None:
    model = shoppers_model
    expected = GlobalPopularity.fit(shoppers).recommend(["stranger"], n=10)

    offers = model.recommend_with_reasons(["stranger", 3], n=10)

    assert [p for p, _, _ in offers["stranger"]] == expected["stranger"]
    assert {r for _, _, r in offers["stranger"]} == {"POPULAR"}
    assert len(offers[3]) == 10


def test_empty_and_zero_requests(tiny: pd.DataFrame) -> None:
    model = recommend.fit(tiny)
    assert model.recommend([], n=10) == {}
    assert model.recommend(["a"], n=0) == {"a": []}


def test_short_catalogue_is_padded_without_duplicates(tiny: pd.DataFrame) -> None:
    model = recommend.fit(tiny)
    offers = model.recommend(["a", "b"], n=10)
    assert sorted(offers["a"]) == ["v", "w", "x", "y", "z"]
    assert sorted(model.recommend(["a"], n=10, exclude_purchased=True)["a"]) == ["v", "y", "z"]


def test_options_reach_the_configuration(tiny: pd.DataFrame) -> None:
    model = recommend.fit(tiny, factors=4, label_weeks=2)
    assert (model.config.als.factors, model.config.label_weeks) == (4, 2)
    assert model.user_factors.shape == (5, 4)
    with pytest.raises(TypeError, match="unknown option"):
        recommend.fit(tiny, colour="red")


def test_missing_column_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="timestamp"):
        recommend.fit(pd.DataFrame({"member_id": [1], "product_id": [2]}))


def test_empty_history_is_a_clear_error() -> None:
    empty = pd.DataFrame({"member_id": [], "product_id": [], "timestamp": [], "quantity": []})
    with pytest.raises(ValueError, match="no interactions"):
        recommend.fit(empty)


def test_lambdarank_option_learns_the_habit_and_round_trips(
    shoppers: pd.DataFrame, tmp_path: Path
) -> None:
    # given: the list rankers, few trees to stay fast
    model = recommend.fit(shoppers, ranker="lambdarank", trees=20)

    # when
    model.save(tmp_path / "model")
    loaded = recommend.load(tmp_path / "model")

    # then
    assert isinstance(model.rankers, ListRankers)
    assert model.recommend_with_reasons([0], n=5)[0][0][:1] == (0,)
    for exclude in (False, True):
        assert loaded.recommend_with_reasons([0, 5, "stranger"], 10, exclude) == (
            model.recommend_with_reasons([0, 5, "stranger"], 10, exclude)
        )
    assert (
        json.loads((tmp_path / "model" / PARAMS_FILE).read_text())["params"]["config"]["ranker"]
        == "lambdarank"
    )


def test_unknown_ranker_is_a_clear_error(tiny: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="ranker must be one of"):
        recommend.fit(tiny, ranker="forest")


def test_joint_features_put_shared_features_in_one_column() -> None:
    bought = Candidates(
        np.array([0]),
        np.array([1]),
        np.arange(len(BOUGHT_FEATURES), dtype=float)[None, :],
        np.zeros(1, dtype=bool),
    )
    new = Candidates(
        np.array([0]),
        np.array([2]),
        -np.arange(len(NEW_FEATURES), dtype=float)[None, :] - 1,
        np.ones(1, dtype=bool),
    )

    joint = joint_features(bought, new)

    als = JOINT_FEATURES.index("als_score")
    assert joint[:, 0].tolist() == [1.0, 0.0]
    assert joint[0, als] == BOUGHT_FEATURES.index("als_score")
    assert joint[1, als] == -NEW_FEATURES.index("als_score") - 1
    assert np.isnan(joint[1, JOINT_FEATURES.index("log_lines")])
    # each row has exactly its own kind's features, the rest NaN
    assert np.isnan(joint).sum() == 2 * (len(JOINT_FEATURES) - 1) - len(BOUGHT_FEATURES) - len(
        NEW_FEATURES
    )


def test_membership_by_binary_search_equals_isin() -> None:
    from recommend.blend import _member_of

    rng = np.random.default_rng(3)
    for size in (0, 1, 50):
        sorted_set = np.unique(rng.integers(0, 100, size))
        keys = rng.integers(-5, 110, 500)
        assert (_member_of(keys, sorted_set) == np.isin(keys, sorted_set)).all()


def test_rankers_learn_from_a_sample_of_members_when_there_are_many(
    shoppers: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large shop's label window is sampled (bounded memory); the sample still learns the
    habit, and the same data gives the same model."""
    from recommend import blend

    seen: list[int] = []
    candidates = blend.BlendedRecommender.candidates

    def counting(self, rows):  # type: ignore[no-untyped-def]
        seen.append(len(rows))
        return candidates(self, rows)

    monkeypatch.setattr(blend.BlendedRecommender, "candidates", counting)
    model = recommend.fit(shoppers, ranker_members=120)
    assert sum(seen) == 120
    again = recommend.fit(shoppers, ranker_members=120)

    assert model.rankers is not None
    assert model.recommend_with_reasons([0], n=1)[0][0][0] == 0
    assert model.recommend([5], n=10) == again.recommend([5], n=10)
