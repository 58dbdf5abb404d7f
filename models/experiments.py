"""Offer experiments: arms that members are assigned to by a stable hash."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ArmSource(StrEnum):
    MODEL_VERSION = "MODEL_VERSION"  # the precomputed offers of one model version
    POPULAR = "POPULAR"  # the popularity offers only
    NONE = "NONE"  # a holdout: no product offers


class Experiment(Model):
    """A time-boxed comparison of offer sources, the first arm being the control."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255, unique=True)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    arms: fields.ReverseRelation["ExperimentArm"]

    class Meta:
        table = "experiments"


class ExperimentArm(Model):
    """One arm: its share of members (weight) and what its members are offered."""

    id = fields.IntField(primary_key=True)
    experiment: fields.ForeignKeyRelation[Experiment] = fields.ForeignKeyField(
        "models.Experiment", related_name="arms", on_delete=fields.CASCADE
    )
    experiment_id: int
    position = fields.IntField()
    name = fields.CharField(max_length=64)
    weight = fields.IntField()
    source = fields.CharEnumField(ArmSource, max_length=16)
    model_version_id = fields.IntField(null=True)

    class Meta:
        table = "experiment_arms"
        unique_together = (("experiment_id", "position"),)
