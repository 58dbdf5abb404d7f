"""Offer experiments: arms, sticky assignment by a stable hash, and the arm a member is served.

A member's arm in an experiment is ``loyalty.assignment.unit_hash`` of the experiment's key and
the member, placed on the arms' cumulative weights: the same member always lands in the same arm
(sticky), members spread over the arms by weight (uniform), and arms of two experiments are
independent. Campaign holdouts use the same hash with the campaign's key.

At most one experiment runs at a time, so a member's offers come from exactly one arm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from loyalty import db
from loyalty.assignment import pick, unit_hash
from loyalty.errors import Conflict, ErrorCode, InvalidInput, NotFound
from loyalty.programme.config import ProgramConfig, config_changed, program_config
from models import ArmSource, Experiment, ExperimentArm, ModelVersion

MAX_ARMS = 10


def experiment_key(experiment_id: int) -> str:
    return f"experiment-{experiment_id}"


def arm_index(experiment_id: int, member_id: int, weights: Sequence[int]) -> int:
    """The position of the member's arm: sticky, by weight, independent across experiments."""
    return pick(weights, unit_hash(experiment_key(experiment_id), member_id))


@dataclass(frozen=True)
class ArmInput:
    name: str
    weight: int
    source: ArmSource
    model_version_id: int | None = None


async def create_experiment(
    name: str, arms: Sequence[ArmInput], starts_at: datetime, ends_at: datetime
) -> Experiment:
    """A new experiment; its first arm is the control. Refused when it overlaps another."""
    name = name.strip()
    if not name or len(name) > 255:
        raise InvalidInput("name must be 1 to 255 characters", field="name")
    if not starts_at.tzinfo or not ends_at.tzinfo:
        raise InvalidInput(
            "give times with an offset", field="startsAt", code=ErrorCode.INVALID_DATE
        )
    if ends_at <= starts_at:
        raise InvalidInput(
            "endsAt must be after startsAt", field="endsAt", code=ErrorCode.INVALID_DATE
        )
    if not 2 <= len(arms) <= MAX_ARMS:
        raise InvalidInput(f"give 2 to {MAX_ARMS} arms", field="arms")
    names = [arm.name.strip() for arm in arms]
    for i, arm in enumerate(arms):
        if not names[i] or len(names[i]) > 64:
            raise InvalidInput("an arm name must be 1 to 64 characters", field=f"arms.{i}.name")
        if names.index(names[i]) != i:
            raise InvalidInput("arm names must differ", field=f"arms.{i}.name")
        if not 1 <= arm.weight <= 10_000:
            raise InvalidInput("weight must be 1 to 10000", field=f"arms.{i}.weight")
        if (arm.source == ArmSource.MODEL_VERSION) != (arm.model_version_id is not None):
            raise InvalidInput(
                "a MODEL_VERSION arm names a model version, other arms none",
                field=f"arms.{i}.modelVersionId",
            )
        if arm.model_version_id is not None and not await ModelVersion.exists(
            id=arm.model_version_id
        ):
            raise NotFound("no such model version", field=f"arms.{i}.modelVersionId")
    async with db.transaction():
        if await Experiment.exists(name=name):
            raise Conflict("an experiment has this name", field="name")
        if await Experiment.exists(starts_at__lt=ends_at, ends_at__gt=starts_at):
            raise Conflict("another experiment runs in this window", field="startsAt")
        experiment = await Experiment.create(name=name, starts_at=starts_at, ends_at=ends_at)
        await ExperimentArm.bulk_create(
            [
                ExperimentArm(
                    experiment_id=experiment.id,
                    position=i,
                    name=names[i],
                    weight=arm.weight,
                    source=arm.source,
                    model_version_id=arm.model_version_id,
                )
                for i, arm in enumerate(arms)
            ]
        )
    await config_changed()  # every process finds the new experiment on its next request
    return experiment


async def arms_of(experiment_id: int) -> list[ExperimentArm]:
    """The experiment's arms, control first."""
    return await ExperimentArm.filter(experiment_id=experiment_id).order_by("position")


async def get(experiment_id: int) -> Experiment:
    experiment = await Experiment.get_or_none(id=experiment_id)
    if experiment is None:
        raise NotFound("no such experiment", field="id")
    return experiment


async def listing() -> list[tuple[Experiment, list[ExperimentArm]]]:
    """Every experiment with its arms, newest first."""
    rows = await Experiment.all().order_by("-id")
    arms = await ExperimentArm.filter(experiment_id__in=[e.id for e in rows]).order_by("position")
    return [(e, [a for a in arms if a.experiment_id == e.id]) for e in rows]


@dataclass(frozen=True)
class Assignment:
    experiment_id: int
    arm: ExperimentArm


async def running_arm(
    member_id: int, now: datetime | None = None, config: ProgramConfig | None = None
) -> Assignment | None:
    """The arm of the running experiment the member is in, if one runs; from the programme's
    cached configuration (``config`` when the caller has read it), which every new experiment
    renews."""
    now = now or datetime.now(UTC)
    config = config or await program_config()
    for experiment, arms in config.experiments:
        if experiment.starts_at <= now < experiment.ends_at and arms:
            chosen = arm_index(experiment.id, member_id, [arm.weight for arm in arms])
            return Assignment(experiment.id, arms[chosen])
    return None
