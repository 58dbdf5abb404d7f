import pandas as pd

from recommend.evaluation import OURS, evaluate, format_table


def test_evaluate_compares_every_model_on_one_split(shoppers: pd.DataFrame) -> None:
    rows = evaluate(shoppers, holdout_weeks=4, k=5)

    assert [row.model for row in rows] == [
        "global popularity",
        "personal popularity",
        "plain ALS",
        OURS,
    ]
    assert len({(row.all.members, row.new.members) for row in rows}) == 1
    by_name = {row.model: row for row in rows}
    # staples dominate this data: own history beats popularity on all purchases
    assert by_name["personal popularity"].all.recall > by_name["global popularity"].all.recall
    table = format_table(rows, k=5)
    assert "recall@5 all" in table and "recall@5 new" in table
