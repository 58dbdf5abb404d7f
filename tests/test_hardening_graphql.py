"""Abusive GraphQL is refused before it runs, and the service keeps answering afterwards.

Requests go through the ASGI app (auth, body limit, strawberry's HTTP handling and the
schema's validation guards); after every refused request a plain ``{ program { name } }``
must still answer 200.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from typing import Any

import graphql
import httpx
import pytest
from graphql import get_introspection_query

from api.app import MAX_BODY_BYTES, create_app
from api.schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, build_schema
from loyalty import tokens
from loyalty.settings import Settings
from models import LedgerEntry, Member
from tests.support import ADMIN_KEY, STOREFRONT_KEY, enroll

pytestmark = pytest.mark.usefixtures("database")

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
STOREFRONT = {"Authorization": f"Bearer {STOREFRONT_KEY}"}
HEALTHY = "{ program { name } }"
ENROLL = 'mutation { enrollMember(input: {externalId: "x-1", email: "x@example.com"}) { member { id } } }'

Clients = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def clients(database: Settings) -> Clients:
    """Opens a client on the app; ``production=True`` for the production configuration."""

    @asynccontextmanager
    async def open_client(*, production: bool = False) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(replace(database, production=production), migrate=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
            await assert_still_serving(client)

    return open_client


async def assert_still_serving(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": HEALTHY})
    assert response.status_code == 200
    assert response.json() == {"data": {"program": {"name": "Loyalty"}}}


async def post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """POST a query; return the JSON of a 200 answer."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    response = await client.post("/graphql", json=body, **kwargs)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    await assert_still_serving(client)
    return result


def messages(result: dict[str, Any]) -> list[str]:
    return [error["message"] for error in result.get("errors") or []]


def nested(levels: int) -> str:
    """A selection ``levels`` fields deep (the field names do not matter to the depth guard)."""
    return "{ program " + "{ f " * (levels - 1) + "{ name }" + " }" * (levels - 1) + " }"


# -- depth -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "refusal"),
    [
        (MAX_DEPTH + 2, f"'anonymous' exceeds maximum operation depth of {MAX_DEPTH}"),
        # Far deeper documents are stopped by the parser already, before any validation.
        (200, "Syntax Error: Document is nested too deeply. Parsing aborted."),
    ],
)
async def test_depth_over_the_limit_is_refused(clients, levels, refusal):
    async with clients() as client:
        result = await post(client, nested(levels))

    assert result["data"] is None
    assert refusal in messages(result)


async def test_depth_through_fragments_is_counted(clients):
    fragments = "".join(
        f"fragment F{i} on Program {{ f {{ ...F{i + 1} }} }} " for i in range(MAX_DEPTH + 2)
    )
    query = f"{{ program {{ ...F0 }} }} {fragments}fragment F{MAX_DEPTH + 2} on Program {{ name }}"

    async with clients() as client:
        result = await post(client, query)

    assert f"'anonymous' exceeds maximum operation depth of {MAX_DEPTH}" in messages(result)


async def test_the_deepest_real_query_is_allowed(clients):
    await enroll()
    query = "{ members { edges { node { transactions { edges { node { id } } } } } } }"

    async with clients() as client:
        result = await post(client, query, headers=ADMIN)

    assert messages(result) == []
    assert result["data"]["members"]["edges"][0]["node"]["transactions"] == {"edges": []}


async def test_cyclic_introspection_is_refused(clients):
    query = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"

    async with clients() as client:
        result = await post(client, query)

    assert messages(result) == ["Maximum introspection depth exceeded"]


# -- aliases, tokens, fragments ---------------------------------------------------------------


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: program {{ name }}" for i in range(count)) + " }"


async def test_more_aliases_than_the_limit_are_refused(clients):
    async with clients() as client:
        at_limit = await post(client, aliased(MAX_ALIASES))
        over = await post(client, aliased(MAX_ALIASES + 1))

    assert messages(at_limit) == [] and len(at_limit["data"]) == MAX_ALIASES
    assert over == {
        "data": None,
        "errors": [{"message": f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}"}],
    }


async def test_aliases_of_a_mutation_are_refused_and_write_nothing(clients):
    enrolments = " ".join(
        f'm{i}: enrollMember(input: {{externalId: "x-{i}", email: "x{i}@example.com"}}) '
        "{ userErrors { code } }"
        for i in range(MAX_ALIASES + 1)
    )

    async with clients() as client:
        result = await post(client, f"mutation {{ {enrolments} }}", headers=STOREFRONT)

    assert result["data"] is None and len(messages(result)) == 1
    assert await Member.all().count() == 0


async def test_more_tokens_than_the_limit_are_refused(clients):
    query = "{ program { " + "name " * MAX_TOKENS + "} }"

    async with clients() as client:
        result = await post(client, query)

    assert result["data"] is None
    assert messages(result) == [
        f"Syntax Error: Document contains more than {MAX_TOKENS} tokens. Parsing aborted."
    ]


@pytest.mark.parametrize(
    "fragments",
    [
        "fragment A on Program { ...A }",
        "fragment A on Program { ...B } fragment B on Program { ...A }",
        "fragment A on Program { name ...B } fragment B on Program { ...C } "
        "fragment C on Program { ...A }",
    ],
)
async def test_circular_fragments_are_refused(clients, fragments):
    async with clients() as client:
        result = await post(client, "{ program { ...A } } " + fragments)

    assert result["data"] is None
    assert any(m.startswith("Cannot spread fragment 'A' within itself") for m in messages(result))


# -- page sizes ----------------------------------------------------------------------------------


# Every field that takes `first`, the role that may read it, and a document paging it by $n.
PAGED = {
    "Query.members": ("admin", "query($n: Int) { members(first: $n) { edges { cursor } } }"),
    "Query.segment": ("admin", "query($n: Int) { segment(first: $n) { edges { cursor } } }"),
    "Query.eventDeliveries": (
        "admin",
        "query($n: Int) { eventDeliveries(first: $n) { edges { cursor } } }",
    ),
    "Query.rewards": ("public", "query($n: Int) { rewards(first: $n) { edges { cursor } } }"),
    "Member.transactions": (
        "member",
        "query($n: Int) { me { transactions(first: $n) { edges { cursor } } } }",
    ),
    "Member.coupons": (
        "member",
        "query($n: Int) { me { coupons(first: $n) { edges { cursor } } } }",
    ),
    "Member.offers": ("member", "query($n: Int!) { me { offers(first: $n) { kind } } }"),
}


def test_every_field_taking_first_is_checked():
    schema = graphql.build_schema(build_schema().as_str())
    paged = {
        f"{name}.{field_name}"
        for name, kind in schema.type_map.items()
        if isinstance(kind, graphql.GraphQLObjectType) and not name.startswith("__")
        for field_name, field in kind.fields.items()
        if "first" in field.args
    }
    assert paged == set(PAGED), "add every field with a `first` argument to PAGED"


@pytest.mark.parametrize("first", [0, 101, -1])
@pytest.mark.parametrize("field", sorted(PAGED))
async def test_first_outside_1_to_100_is_refused(clients, database, field, first):
    role, query = PAGED[field]
    headers = {"admin": ADMIN, "public": {}}.get(role)
    if role == "member":
        token, _ = tokens.issue((await enroll()).id, database)
        headers = {"Authorization": f"Bearer {token}"}

    async with clients() as client:
        result = await post(client, query, {"n": first}, headers=headers)

    assert messages(result) == ["first must be between 1 and 100"]
    assert result["data"] in (None, {"me": None})


@pytest.mark.parametrize("first", [0, 101, -1])
async def test_first_outside_1_to_100_is_refused_as_a_literal(clients, first):
    async with clients() as client:
        result = await post(
            client, f"{{ members(first: {first}) {{ edges {{ cursor }} }} }}", headers=ADMIN
        )

    assert result["data"] is None
    assert messages(result) == ["first must be between 1 and 100"]


async def test_first_beyond_a_32_bit_int_is_refused(clients):
    async with clients() as client:
        result = await post(client, "{ members(first: 99999999999) { edges { cursor } } }")

    assert result["data"] is None
    assert messages(result) == ["Int cannot represent non 32-bit signed integer value: 99999999999"]


# -- request shapes ------------------------------------------------------------------------------


async def test_a_body_over_1_mb_is_413_before_parsing(clients):
    padding = "#" * MAX_BODY_BYTES
    async with clients() as client:
        document = await client.post("/graphql", json={"query": HEALTHY + "\n" + padding})
        variables = await client.post(
            "/graphql", json={"query": HEALTHY, "variables": {"pad": padding}}
        )
        not_json = await client.post("/graphql", content=b"{" * (MAX_BODY_BYTES + 1), headers=ADMIN)

    for response in (document, variables, not_json):
        assert response.status_code == 413
        assert response.json() == {
            "errors": [{"message": f"request body over {MAX_BODY_BYTES} bytes"}]
        }


async def test_a_streamed_body_over_1_mb_is_413(clients):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ program { name } }", "variables": {"pad": "'
        for _ in range(MAX_BODY_BYTES // 10_000 + 1):
            yield b"x" * 10_000
        yield b'"}}'

    async with clients() as client:
        response = await client.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413


async def test_a_body_just_under_1_mb_is_served(clients):
    envelope = json.dumps({"query": HEALTHY, "variables": {"pad": ""}})
    body = envelope.replace('"pad": ""', '"pad": "' + "x" * (MAX_BODY_BYTES - len(envelope)) + '"')
    assert len(body) == MAX_BODY_BYTES

    async with clients() as client:
        response = await client.post(
            "/graphql", content=body.encode(), headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 200
    assert response.json() == {"data": {"program": {"name": "Loyalty"}}}


async def test_batched_requests_are_refused(clients):
    batch = [{"query": HEALTHY}, {"query": ENROLL}]

    async with clients() as client:
        response = await client.post("/graphql", json=batch, headers=STOREFRONT)

    assert response.status_code == 400
    assert await Member.all().count() == 0


@pytest.mark.parametrize("production", [False, True])
async def test_mutations_over_get_are_refused_and_write_nothing(clients, production):
    async with clients(production=production) as client:
        response = await client.get("/graphql", params={"query": ENROLL}, headers=STOREFRONT)

    assert response.status_code == 400
    assert await Member.all().count() == 0
    assert await LedgerEntry.all().count() == 0


async def test_queries_over_get_are_served_only_in_development(clients):
    async with clients() as client:
        development = await client.get("/graphql", params={"query": HEALTHY})
    async with clients(production=True) as client:
        production = await client.get("/graphql", params={"query": HEALTHY})

    assert development.status_code == 200
    assert production.status_code == 400


# -- introspection and GraphiQL --------------------------------------------------------------------

INTROSPECTION = [
    get_introspection_query(descriptions=True),
    "{ __schema { queryType { name } } }",
    '{ __type(name: "Member") { fields { name } } }',
]


@pytest.mark.parametrize("query", INTROSPECTION, ids=["full", "schema", "type"])
async def test_introspection_is_off_in_production(clients, query):
    async with clients(production=True) as client:
        result = await post(client, query)

    assert result["data"] is None
    assert messages(result)
    assert all("introspection has been disabled" in m for m in messages(result))


@pytest.mark.parametrize("query", INTROSPECTION, ids=["full", "schema", "type"])
async def test_introspection_is_on_in_development(clients, query):
    async with clients() as client:
        result = await post(client, query)

    assert messages(result) == []
    assert result["data"]


async def test_typename_still_answers_in_production(clients):
    async with clients(production=True) as client:
        result = await post(client, "{ __typename program { __typename name } }")

    assert result == {
        "data": {"__typename": "Query", "program": {"__typename": "Program", "name": "Loyalty"}}
    }


# Each misspells a name the schema has; graphql-core would answer "Did you mean ...?".
MISSPELLED = [
    ("{ progam { name } }", None),
    ("{ program { nmae } }", None),
    ('{ member(externalID: "x") { id } }', None),
    ("{ segment(filter: {minPoint: 1}) { edges { cursor } } }", None),
    ("{ eventDeliveries(status: DELIVERD) { edges { cursor } } }", None),
    (
        "query($s: EventDeliveryStatus) { eventDeliveries(status: $s) { edges { cursor } } }",
        {"s": "DELIVERD"},
    ),
]
MISSPELLED_IDS = ["field", "subfield", "argument", "input-field", "enum", "variable"]


@pytest.mark.parametrize(("query", "variables"), MISSPELLED, ids=MISSPELLED_IDS)
async def test_production_errors_suggest_no_schema_names(clients, query, variables):
    async with clients(production=True) as client:
        result = await post(client, query, variables, headers=ADMIN)

    assert result["data"] is None
    assert len(messages(result)) == 1
    assert "Did you mean" not in messages(result)[0]


@pytest.mark.parametrize(("query", "variables"), MISSPELLED, ids=MISSPELLED_IDS)
async def test_development_errors_still_suggest_names(clients, query, variables):
    async with clients() as client:
        result = await post(client, query, variables, headers=ADMIN)

    assert len(messages(result)) == 1
    assert "Did you mean" in messages(result)[0]


async def test_graphiql_is_served_only_in_development(clients):
    browser = {"Accept": "text/html"}
    async with clients() as client:
        development = await client.get("/graphql", headers=browser)
    async with clients(production=True) as client:
        production = await client.get("/graphql", headers=browser)

    assert development.status_code == 200 and "graphiql" in development.text.lower()
    assert production.status_code == 404
    assert "graphiql" not in production.text.lower()
