"""What one GraphQL document may ask for, checked before any resolver runs: depth, aliases, cost.

Each named fragment is measured once, dependencies first, and a spread looks its value up. A
document that spreads a fragment twice, that one twice again and so on describes 2^n fields in
a few hundred bytes; walking it spread by spread (as strawberry's own depth and alias limiters
do) takes seconds at n = 20 and doubles with every further fragment.

Cost counts what an operation may make the server resolve: every field costs 1, and a field
that takes ``first`` multiplies the cost of everything under it by its page size (the value
given, as a literal or a variable, else the argument's default), so nested pages multiply;
aliases and fragment spreads count each time they appear. That is how Shopify's and GitHub's
cost models count, without their discount for scalars. Page sizes may be variables, known only
with the request, so cost is checked when execution starts (after validation, before any
resolver) rather than as a cached validation rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    get_operation_ast,
    value_from_ast_untyped,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef
from strawberry.extensions import SchemaExtension

from api.relay import MAX_PAGE


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def _spread_names(selection_set: SelectionSetNode) -> Iterator[str]:
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            yield selection.name.value
        elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
            yield from _spread_names(selection.selection_set)


def _dependency_order(fragments: Mapping[str, FragmentDefinitionNode]) -> list[str]:
    """Fragment names, each after the fragments it spreads (a cycle is cut where it closes:
    graphql-core's NoFragmentCyclesRule refuses such a document anyway)."""
    uses = {name: list(_spread_names(f.selection_set)) for name, f in fragments.items()}
    done: set[str] = set()
    order: list[str] = []
    for start in fragments:
        if start in done:
            continue
        stack = [(start, iter(uses[start]))]
        open_ = {start}
        while stack:
            name, pending = stack[-1]
            following = next(
                (n for n in pending if n in fragments and n not in done and n not in open_), None
            )
            if following is None:
                stack.pop()
                open_.discard(name)
                done.add(name)
                order.append(name)
            else:
                stack.append((following, iter(uses[following])))
                open_.add(following)
    return order


def measure_fragments(
    fragments: Mapping[str, FragmentDefinitionNode],
    measure: Callable[[FragmentDefinitionNode, Mapping[str, int]], int],
) -> dict[str, int]:
    """Every fragment's value, each computed once from the values of those it spreads."""
    values: dict[str, int] = {}
    for name in _dependency_order(fragments):
        values[name] = measure(fragments[name], values)
    return values


# -- depth and aliases ---------------------------------------------------------------------------


def _depth(selection_set: SelectionSetNode, fragments: Mapping[str, int]) -> int:
    """Fields with a selection on the longest path (introspection fields are left to
    graphql-core's own introspection depth rule)."""
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.selection_set and not selection.name.value.startswith("__"):
                deepest = max(deepest, 1 + _depth(selection.selection_set, fragments))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments))
        elif isinstance(selection, FragmentSpreadNode):
            deepest = max(deepest, fragments.get(selection.name.value, 0))
    return deepest


def _aliases(selection_set: SelectionSetNode, fragments: Mapping[str, int]) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += selection.alias is not None
            if selection.selection_set:
                count += _aliases(selection.selection_set, fragments)
        elif isinstance(selection, InlineFragmentNode):
            count += _aliases(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            count += fragments.get(selection.name.value, 0)
    return count


def document_limits(max_depth: int, max_aliases: int) -> type[ASTValidationRule]:
    """A validation rule refusing operations deeper than ``max_depth`` fields and documents
    with more than ``max_aliases`` aliases (with strawberry's limiters' messages)."""

    class DocumentLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments = _fragments(document)
            depths = measure_fragments(fragments, lambda f, v: _depth(f.selection_set, v))
            aliases = measure_fragments(fragments, lambda f, v: _aliases(f.selection_set, v))
            total_aliases = 0
            for operation in _operations(document):
                name = operation.name.value if operation.name else "anonymous"
                if _depth(operation.selection_set, depths) > max_depth:
                    message = f"'{name}' exceeds maximum operation depth of {max_depth}"
                    context.report_error(GraphQLError(message, operation))
                total_aliases += _aliases(operation.selection_set, aliases)
            if total_aliases > max_aliases:
                message = f"{total_aliases} aliases found. Allowed: {max_aliases}"
                context.report_error(GraphQLError(message))

    return DocumentLimits


# -- cost ------------------------------------------------------------------------------------------


def _field(schema: GraphQLSchema, parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is schema.query_type and name in ("__schema", "__type"):
        return SchemaMetaFieldDef if name == "__schema" else TypeMetaFieldDef
    fields = getattr(parent, "fields", None)
    return fields.get(name) if fields else None


def _page(definition: GraphQLField, node: FieldNode, variables: Mapping[str, Any]) -> int:
    """The page size a field with ``first`` serves (1 for any other field)."""
    if "first" not in definition.args:
        return 1
    given = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
    size = value_from_ast_untyped(given, dict(variables)) if given is not None else None
    if not isinstance(size, int) or isinstance(size, bool):
        size = definition.args["first"].default_value
    if not isinstance(size, int) or isinstance(size, bool):
        return MAX_PAGE
    return min(max(size, 0), MAX_PAGE)  # out of range is refused by the resolver


class _Cost:
    def __init__(self, schema: GraphQLSchema, variables: Mapping[str, Any]) -> None:
        self.schema = schema
        self.variables = variables

    def fragment(self, fragment: FragmentDefinitionNode, values: Mapping[str, int]) -> int:
        parent = self.schema.get_type(fragment.type_condition.name.value)
        return self.selections(fragment.selection_set, parent, values) if parent else 0

    def selections(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType,
        fragments: Mapping[str, int],
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, fragments)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, inner or parent, fragments)
            elif isinstance(selection, FragmentSpreadNode):
                total += fragments.get(selection.name.value, 0)
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType, fragments: Mapping[str, int]) -> int:
        definition = _field(self.schema, parent, node.name.value)
        if definition is None or node.selection_set is None:
            return 1
        below = self.selections(node.selection_set, get_named_type(definition.type), fragments)
        return 1 + _page(definition, node, self.variables) * below


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """What the operation may resolve, counted as the module docstring says."""
    given = dict(variables or {})
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in given and definition.default_value is not None:
            given[name] = value_from_ast_untyped(definition.default_value)
    cost = _Cost(schema, given)
    fragments = measure_fragments(_fragments(document), cost.fragment)
    root: GraphQLObjectType | None = schema.get_root_type(operation.operation)
    return cost.selections(operation.selection_set, root, fragments) if root else 0


class QueryCostLimiter(SchemaExtension):
    """Refuses, before execution, an operation whose cost is over ``max_cost``."""

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = get_operation_ast(document, context.operation_name) if document else None
        if document is not None and operation is not None:
            schema = context.schema._schema
            cost = operation_cost(schema, document, operation, context.variables)
            if cost > self.max_cost:
                message = f"query cost {cost} is over the limit of {self.max_cost}"
                context.result = ExecutionResult(None, [GraphQLError(message, operation)])
        yield
