"""The lean executor answers what graphql-core's standard execution answers, errors included."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum

import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.execution import LeanExecution


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    name: str
    count: int
    price: Decimal | None
    colour: Colour
    at: datetime
    missing: str | None
    required: str  # None is put here to make the field fail


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        return [
            Item(
                name="a",
                count=1,
                price=Decimal("2.50"),
                colour=Colour.RED,
                at=at,
                missing=None,
                required="x",
            ),
            Item(
                name="b",
                count=2**40,
                price=None,
                colour=Colour.BLUE,
                at=at,
                missing=None,
                required="y",
            ),
            Item(
                name="c",
                count=3,
                price=None,
                colour=Colour.BLUE,
                at=at,
                missing=None,
                required=None,  # type: ignore[arg-type]
            ),
        ]


QUERY = "{ items { name count price colour at missing required } }"


def execute(context_class: type) -> tuple[object, list[str]]:
    schema = strawberry.Schema(query=Query, execution_context_class=context_class)
    result = schema.execute_sync(QUERY)
    return result.data, [f"{e.path}: {e.message}" for e in result.errors or []]


def test_lean_execution_answers_as_the_standard_one_errors_included():
    """Given values, nulls, an Int out of range and a null where none may be, the data and the
    errors are the same."""
    lean = execute(LeanExecution)
    standard = execute(StrawberryGraphQLCoreExecutionContext)

    assert lean == standard
    data, errors = lean
    assert data == {"items": [_first(), None, None]}
    assert len(errors) == 2, errors  # b's count is out of range, c's required is null


def _first() -> dict[str, object]:
    return {
        "name": "a",
        "count": 1,
        "price": "2.50",
        "colour": "RED",
        "at": "2026-01-02T03:04:05+00:00",
        "missing": None,
        "required": "x",
    }
