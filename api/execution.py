"""graphql-core's executor with a short path for the commonest field of an answer.

Most fields of an account page (a balance, a points figure, a date, an enum) are strawberry
"basic" fields: a scalar or enum read from an attribute, without a resolver, arguments or
field extensions. graphql-core runs each through the whole field machinery (a resolve info,
argument coercion, three awaitable checks, value completion by type). This executor reads
such a field's attribute and coerces it with the type's own ``coerce_output_value``, the step
graphql-core ends with, and answers a null of a nullable basic field (an offer's missing
product or reward) at once. Anything else (a null where none may be, an error, an awaitable, a
coercion that gives no value, an object to complete, any field when an extension resolves
fields) goes the standard way, which produces the same value or the same error it always did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from graphql import GraphQLLeafType, GraphQLNonNull, GraphQLObjectType, Undefined
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


class Plan(NamedTuple):
    """How a basic field is read: its attribute, whether it may be null, and the output
    coercion of its scalar or enum type (None for an object or list: those complete the
    standard way unless null)."""

    read: Callable[[Any], Any]
    nullable: bool
    coerce: Callable[[Any], Any] | None


_plans: dict[tuple[GraphQLObjectType, str], Plan | None] = {}


def _plan(parent_type: GraphQLObjectType, name: str) -> Plan | None:
    field = parent_type.fields.get(name)
    if field is None or field.args:
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    if not getattr(field.resolve, "_is_default", False):
        return None  # an exception handler or a resolver of strawberry's own
    nullable = not isinstance(field.type, GraphQLNonNull)
    inner = field.type if nullable else field.type.of_type
    coerce = inner.coerce_output_value if isinstance(inner, GraphQLLeafType) else None
    resolver, attribute = definition.default_resolver, definition.python_name
    return Plan(lambda source: resolver(source, attribute), nullable, coerce)


class LeanExecution(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context with basic leaf fields read directly (see above)."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        middleware = self.middleware_manager
        if middleware is None or not middleware.middlewares:  # no extension resolves fields
            key = (parent_type, field_details_list[0].node.name.value)
            plan = _plans[key] if key in _plans else _plans.setdefault(key, _plan(*key))
            if plan is not None:
                try:
                    value = plan.read(source)
                    if value is None:
                        if plan.nullable:
                            return None
                    elif plan.coerce is not None and not self.is_awaitable(value):
                        coerced = plan.coerce(value)
                        if coerced is not None and coerced is not Undefined:
                            return coerced
                except Exception:
                    pass
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
