import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recommend
from recommend.base import Recommender
from recommend.baselines import GlobalPopularity, PersonalPopularity, PlainALS


def _same_offers(left: Recommender, right: Recommender, members: list[object]) -> None:
    for exclude in (False, True):
        assert left.recommend_with_reasons(members, 10, exclude) == right.recommend_with_reasons(
            members, 10, exclude
        )


def test_round_trip_gives_identical_recommendations(
    shoppers_model: recommend.BlendedRecommender, tmp_path: Path
) -> None:
    # given
    model = shoppers_model

    # when
    model.save(tmp_path / "model")
    loaded = recommend.load(tmp_path / "model")

    # then
    assert isinstance(loaded, recommend.BlendedRecommender)
    assert loaded.config == model.config
    _same_offers(model, loaded, [*range(0, 400, 7), "stranger"])


def test_saved_files_are_json_and_plain_arrays(tiny: pd.DataFrame, tmp_path: Path) -> None:
    recommend.fit(tiny).save(tmp_path)
    document = json.loads((tmp_path / "model.json").read_text())
    assert document["kind"] == "blended"
    assert document["member_ids"] == ["a", "b", "c", "d", "e"]
    with np.load(tmp_path / "arrays.npz", allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)
    _same_offers(recommend.fit(tiny), recommend.load(tmp_path), ["a", "b", "nobody"])


@pytest.mark.parametrize("kind", [GlobalPopularity, PersonalPopularity, PlainALS])
def test_baselines_round_trip(
    kind: type[GlobalPopularity] | type[PlainALS], shoppers: pd.DataFrame, tmp_path: Path
) -> None:
    model = kind.fit(shoppers)
    model.save(tmp_path)
    _same_offers(model, recommend.load(tmp_path), [0, 1, 2, "stranger"])
