import pandas as pd

from recommend.evaluation import temporal_split
from recommend.tuning import tune, validation_interactions


def test_validation_never_sees_the_test_window(shoppers: pd.DataFrame) -> None:
    train, test = temporal_split(shoppers, 4)
    validation = validation_interactions(shoppers, holdout_weeks=4, offset=2)
    assert validation["timestamp"].max() < test["timestamp"].min() - pd.Timedelta(weeks=2)
    assert len(validation) < len(train)


def test_tune_reports_each_configuration(shoppers: pd.DataFrame) -> None:
    results = tune(shoppers, holdout_weeks=4, offsets=(0,), grid={"default": {}})
    assert [row.model for row in results[0]] == [
        "global popularity",
        "personal popularity",
        "default",
    ]
