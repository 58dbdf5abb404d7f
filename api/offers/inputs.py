"""Offer inputs: events from the app, experiments and offerability (admin)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.relay import decode_id
from loyalty.offers.experiments import ArmInput
from loyalty.offers.feedback import EventInput
from models import ArmSource, OfferEventKind

OfferEventKindType = strawberry.enum(OfferEventKind, name="OfferEventKind")
ArmSourceType = strawberry.enum(ArmSource, name="ArmSource")


@strawberry.input
class OfferEventInput:
    offer_id: str
    kind: OfferEventKindType  # type: ignore[valid-type]
    at: datetime

    def to_domain(self) -> EventInput:
        return EventInput(self.offer_id, OfferEventKind(self.kind), self.at)


@strawberry.input
class RecordOfferEventsInput:
    events: list[OfferEventInput] = strawberry.field(
        description="Up to 100 events; a batch is stored whole or not at all."
    )


@strawberry.input
class ExperimentArmInput:
    name: str
    weight: int = strawberry.field(description="Relative share of members (1 to 10000).")
    source: ArmSourceType = strawberry.field(  # type: ignore[valid-type]
        description="MODEL_VERSION (give modelVersionId), POPULAR, or NONE (a holdout)."
    )
    model_version_id: strawberry.ID | None = None

    def to_domain(self, index: int) -> ArmInput:
        version = (
            decode_id("ModelVersion", self.model_version_id, field=f"arms.{index}.modelVersionId")
            if self.model_version_id is not None
            else None
        )
        return ArmInput(self.name, self.weight, ArmSource(self.source), version)


@strawberry.input
class CreateExperimentInput:
    name: str
    arms: list[ExperimentArmInput] = strawberry.field(description="The first arm is the control.")
    starts_at: datetime
    ends_at: datetime

    def arms_to_domain(self) -> list[ArmInput]:
        return [arm.to_domain(i) for i, arm in enumerate(self.arms)]


@strawberry.input
class SetProductOfferableInput:
    sku: str
    offerable: bool


@strawberry.input
class SetCategoryOfferableInput:
    category: str
    offerable: bool
