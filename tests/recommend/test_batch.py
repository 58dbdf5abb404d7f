"""Batched offers (the publish step's path) equal what ``recommend_with_reasons`` gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recommend
from recommend import BlendedRecommender, batch
from recommend.baselines import GlobalPopularity


def test_offer_table_equals_the_per_member_lists(shoppers_model: BlendedRecommender) -> None:
    # more members than one batch, a stranger, and a repeated id
    members = [*range(300), -1, 5]

    table = shoppers_model.offer_table(members, n=12)

    expected = shoppers_model.recommend_with_reasons(members, n=12)
    assert table.as_lists() == expected
    assert len(table) == sum(len(offers) for offers in expected.values())
    assert table.ranks[:12].tolist() == list(range(12))


def test_offer_table_equals_with_purchases_excluded(shoppers_model: BlendedRecommender) -> None:
    members = list(range(0, 400, 7))

    table = shoppers_model.offer_table(members, n=10, exclude_purchased=True)

    assert table.as_lists() == shoppers_model.recommend_with_reasons(
        members, n=10, exclude_purchased=True
    )


def test_short_lists_and_no_members(tiny: pd.DataFrame) -> None:
    # fewer products than asked for: lists end where recommend_with_reasons ends them
    model = GlobalPopularity.fit(tiny)

    table = model.offer_table(["a", "b", "nobody"], n=10)

    assert table.as_lists() == model.recommend_with_reasons(["a", "b", "nobody"], n=10)
    assert len(model.offer_table([], n=10)) == 0
    assert len(model.offer_table(["a"], n=0)) == 0


def test_processes_share_members_by_core_and_size() -> None:
    assert batch.processes_for(100, cores=2) == 1
    assert batch.processes_for(3 * batch.MIN_MEMBERS_PER_PROCESS, cores=2) == 2
    assert batch.processes_for(3 * batch.MIN_MEMBERS_PER_PROCESS, cores=8) == 3


@pytest.mark.slow
def test_worker_processes_give_the_same_table(
    shoppers_model: BlendedRecommender, tmp_path: Path
) -> None:
    path = recommend.save(shoppers_model, tmp_path / "model")
    members = np.array([*range(400), -1])

    table = batch.offer_table(shoppers_model, path, members, 10, processes=2)

    expected = shoppers_model.offer_table(members, n=10)
    for name in ("member_ids", "ranks", "product_ids", "reasons"):
        np.testing.assert_array_equal(getattr(table, name), getattr(expected, name))
    # other batch shapes sum the factor products in another order: the last bit may differ
    np.testing.assert_allclose(table.scores, expected.scores, rtol=1e-12)
