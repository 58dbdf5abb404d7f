"""The GraphQL schema: the per-area query and mutation types merged, with guard extensions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.tools import merge_types

from api.audit import audit_fields
from api.events.mutations import EventMutation
from api.events.queries import EventQuery
from api.execution import LeanExecution
from api.inbox.mutations import InboxMutation
from api.inbox.queries import InboxQuery
from api.limits import QueryCostLimiter, document_limits
from api.logs import Schema, unexpected
from api.members.mutations import MemberMutation
from api.members.queries import MemberQuery
from api.offers.mutations import OfferMutation
from api.offers.queries import OfferQuery
from api.orders.mutations import OrderMutation
from api.orders.queries import OrderQuery
from api.privacy.mutations import PrivacyMutation
from api.privacy.queries import PrivacyQuery
from api.program.mutations import ProgramMutation
from api.program.queries import ProgramQuery
from api.reports.queries import ReportQuery
from api.rewards.mutations import RewardMutation
from api.rewards.queries import RewardQuery
from api.segments.queries import SegmentQuery

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")
MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000
# A full page of 100 rewards with every field costs about 2,700; 30 aliases of a 100-reward
# page cost over 9,000 (api/limits.py says how cost is counted).
MAX_COST = 5000

Query = merge_types(
    "Query",
    (
        ProgramQuery,
        MemberQuery,
        OrderQuery,
        RewardQuery,
        ReportQuery,
        SegmentQuery,
        EventQuery,
        InboxQuery,
        PrivacyQuery,
        OfferQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        MemberMutation,
        OrderMutation,
        RewardMutation,
        ProgramMutation,
        EventMutation,
        InboxMutation,
        PrivacyMutation,
        OfferMutation,
    ),
)
# Every mutation is audited (api/audit.py), and so is reading a member's export.
audit_fields(Mutation)
audit_fields(Query, ["exportMember"])


def build_schema(*, production: bool = False) -> strawberry.Schema:
    """The schema; production mode turns introspection and name suggestions off."""
    # The limit rule is built once: ValidationCache keys on the rule classes, and a rule class
    # made per request would make every validation a cache miss.
    limits = [document_limits(max_depth=MAX_DEPTH, max_aliases=MAX_ALIASES)]
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: MaskErrors(should_mask_error=unexpected),
        lambda: AddValidationRules(limits),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: QueryCostLimiter(max_cost=MAX_COST),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    if production:
        extensions.append(DisableIntrospection)
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        execution_context_class=LeanExecution,
        production=production,
    )


def printed() -> str:
    return build_schema().as_str() + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(printed())
