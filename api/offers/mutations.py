"""Offer mutations: the app's offer events (member), experiments and offerability (admin)."""

from __future__ import annotations

import strawberry

from api.context import Info, Role, require
from api.errors import UserError, payload
from api.offers.experiment_types import ExperimentType
from api.offers.inputs import (
    CreateExperimentInput,
    RecordOfferEventsInput,
    SetCategoryOfferableInput,
    SetProductOfferableInput,
)
from api.offers.types import ProductType
from loyalty.offers import experiments, feedback, offerable


@strawberry.type
class RecordOfferEventsPayload:
    recorded: int = 0
    duplicates: int = strawberry.field(default=0, description="Events already stored (retries).")
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ExperimentPayload:
    experiment: ExperimentType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ProductOfferablePayload:
    product: ProductType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CategoryOfferablePayload:
    non_offerable_categories: list[str] = strawberry.field(default_factory=list)
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OfferMutation:
    @strawberry.mutation(
        description="What the app showed and what the member did with its offers (member)."
    )
    @payload(RecordOfferEventsPayload)
    async def record_offer_events(
        self, info: Info, input: RecordOfferEventsInput
    ) -> RecordOfferEventsPayload:
        context = require(info, Role.MEMBER)
        events = [event.to_domain() for event in input.events]
        secret = context.settings.secret.value
        done = await feedback.record_events(context.member_id or 0, events, secret)
        return RecordOfferEventsPayload(recorded=done.recorded, duplicates=done.duplicates)

    @strawberry.mutation(description="Start an offer experiment; its first arm is the control.")
    @payload(ExperimentPayload)
    async def create_experiment(
        self, info: Info, input: CreateExperimentInput
    ) -> ExperimentPayload:
        require(info, Role.ADMIN)
        row = await experiments.create_experiment(
            input.name, input.arms_to_domain(), input.starts_at, input.ends_at
        )
        return ExperimentPayload(
            experiment=ExperimentType.from_row(row, await experiments.arms_of(row.id))
        )

    @strawberry.mutation(description="Mark a product offerable or not (admin).")
    @payload(ProductOfferablePayload)
    async def set_product_offerable(
        self, info: Info, input: SetProductOfferableInput
    ) -> ProductOfferablePayload:
        require(info, Role.ADMIN)
        row = await offerable.set_product_offerable(input.sku, input.offerable)
        return ProductOfferablePayload(product=ProductType.from_row(row))

    @strawberry.mutation(description="Mark every product of a category offerable or not (admin).")
    @payload(CategoryOfferablePayload)
    async def set_category_offerable(
        self, info: Info, input: SetCategoryOfferableInput
    ) -> CategoryOfferablePayload:
        require(info, Role.ADMIN)
        categories = await offerable.set_category_offerable(input.category, input.offerable)
        return CategoryOfferablePayload(non_offerable_categories=categories)
