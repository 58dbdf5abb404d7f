"""What one GraphQL document may ask for, checked before any resolver runs: depth and aliases.

Each named fragment is measured once, dependencies first, and a spread looks its value up. A
document that spreads a fragment twice, that one twice again and so on describes 2^n fields in
a few hundred bytes; walking it spread by spread (as strawberry's own depth and alias limiters
do) takes seconds at n = 20 and doubles with every further fragment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)


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
