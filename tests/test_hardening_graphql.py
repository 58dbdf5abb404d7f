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
from api.context import client_address
from api.limits import operation_cost
from api.schema import MAX_ALIASES, MAX_COST, MAX_DEPTH, MAX_TOKENS, build_schema
from loyalty.members import tokens
from loyalty.settings import Settings
from models import LedgerEntry, Member
from tests.api.test_query_count import logged_queries
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


# -- fragment fan-out ---------------------------------------------------------------------------


def fan_out(levels: int, leaf: str) -> str:
    """Each fragment spreads the next twice: 2^levels copies of ``leaf`` in a few hundred bytes."""
    fragments = "".join(
        f"fragment F{i} on Program {{ ...F{i + 1} ...F{i + 1} }} " for i in range(levels)
    )
    return f"{{ program {{ ...F0 }} }} {fragments}fragment F{levels} on Program {{ {leaf} }}"


async def test_fragment_fan_out_is_measured_once_per_fragment(clients):
    # Walked spread by spread (strawberry's depth and alias limiters) 2^60 steps never end.
    async with clients() as client:
        aliases = await post(client, fan_out(60, "n: name"))
        depth = await post(client, fan_out(60, "f { " * MAX_DEPTH + "name" + " }" * MAX_DEPTH))
        cost = await post(client, fan_out(60, "name"))

    assert aliases == {
        "data": None,
        "errors": [{"message": f"{2**60} aliases found. Allowed: {MAX_ALIASES}"}],
    }
    assert f"'anonymous' exceeds maximum operation depth of {MAX_DEPTH}" in messages(depth)
    assert cost["data"] is None
    assert messages(cost) == [f"query cost {1 + 2**60} is over the limit of {MAX_COST}"]


# -- page sizes ----------------------------------------------------------------------------------


# Every field that takes `first`, the role that may read it, and a document paging it by $n.
PAGED = {
    "Query.members": ("admin", "query($n: Int) { members(first: $n) { edges { cursor } } }"),
    "Query.segment": ("admin", "query($n: Int) { segment(first: $n) { edges { cursor } } }"),
    "Query.eventDeliveries": (
        "admin",
        "query($n: Int) { eventDeliveries(first: $n) { edges { cursor } } }",
    ),
    "Query.webhookInbox": (
        "admin",
        "query($n: Int) { webhookInbox(first: $n) { edges { cursor } } }",
    ),
    "Query.rewards": ("public", "query($n: Int) { rewards(first: $n) { edges { cursor } } }"),
    "Query.auditLog": ("admin", "query($n: Int) { auditLog(first: $n) { edges { cursor } } }"),
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


# -- cost ----------------------------------------------------------------------------------------


def catalogue_pages(aliases: int, first: str = "100") -> str:
    pages = " ".join(
        f"a{i}: rewards(first: {first}) {{ edges {{ node {{ minTier }} }} }}"
        for i in range(aliases)
    )
    variables = "($n: Int) " if "$n" in first else ""
    return f"query{variables} {{ {pages} }}"


def cost_of(document: str, variables: dict[str, Any] | None = None) -> int:
    parsed = graphql.parse(document)
    operation = graphql.get_operation_ast(parsed)
    assert operation is not None
    return operation_cost(build_schema()._schema, parsed, operation, variables)


async def test_an_expensive_document_is_refused_before_anything_runs(clients):
    # 30 aliases of a 100-reward page: each reward 3 fields, each page 1 + 100 x 3.
    document = catalogue_pages(MAX_ALIASES)

    async with clients() as client:
        with logged_queries() as statements:
            response = await client.post("/graphql", json={"query": document})

    assert response.status_code == 200
    assert response.json()["data"] is None
    assert messages(response.json()) == [f"query cost 9030 is over the limit of {MAX_COST}"]
    assert statements == []


@pytest.mark.parametrize(("n", "served"), [(100, False), (10, True), (None, True)])
async def test_page_sizes_given_as_variables_are_counted(clients, n, served):
    # The same 30 pages with first: $n; unset, the argument's default (20) counts.
    async with clients() as client:
        result = await post(client, catalogue_pages(MAX_ALIASES, "$n"), {"n": n})

    if served:
        assert messages(result) == [] and len(result["data"]) == MAX_ALIASES
    else:
        assert messages(result) == [f"query cost 9030 is over the limit of {MAX_COST}"]


def test_nested_pages_multiply_and_fragments_count_where_spread():
    members = (
        "{ members(first: 50) { edges { node { transactions(first: 10) { edges { cursor } } } } } }"
    )
    spread = "{ ...Page ...Page } fragment Page on Query { rewards(first: 5) { edges { cursor } } }"
    defaulted = "query($n: Int = 40) { rewards(first: $n) { edges { cursor } } }"

    assert cost_of(members) == 1 + 50 * (1 + 1 + (1 + 10 * (1 + 1)))
    assert cost_of(spread) == 2 * (1 + 5 * 2)
    assert cost_of(defaulted) == 1 + 40 * 2
    assert cost_of(defaulted, {"n": 3}) == 1 + 3 * 2


README_QUERIES = {
    "app home screen": """{ me { pointsBalance lifetimePoints expiringPoints(withinDays: 30)
        transactions(first: 10) {
          edges { node { kind points balanceAfter createdAt expiresAt source } }
          pageInfo { hasNextPage endCursor } } } }""",
    "account page": """{ me { tier { name } tierProgress { nextTier { name } missing }
        offers(first: 5) { kind score reason product { sku name } }
        coupons(first: 5) { edges { node { code status expiresAt } } }
        referrals { invited converted pointsEarned } referralCode } }""",
}


@pytest.mark.parametrize("name", sorted(README_QUERIES))
async def test_the_readme_queries_are_served_well_under_the_cost_limit(clients, database, name):
    token, _ = tokens.issue((await enroll()).id, database)

    async with clients() as client:
        result = await post(
            client, README_QUERIES[name], headers={"Authorization": f"Bearer {token}"}
        )

    assert messages(result) == [] and result["data"]["me"]
    assert cost_of(README_QUERIES[name]) * 20 < MAX_COST


def test_a_full_catalogue_page_with_every_reward_field_is_under_the_limit():
    schema = graphql.build_schema(build_schema().as_str())
    reward = schema.type_map["Reward"]
    assert isinstance(reward, graphql.GraphQLObjectType)
    fields = " ".join(reward.fields)
    page = f"{{ rewards(first: 100) {{ edges {{ cursor node {{ {fields} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"

    assert cost_of(page) <= MAX_COST < cost_of(catalogue_pages(MAX_ALIASES))


# -- callers without a key -------------------------------------------------------------------------


async def test_callers_without_a_key_are_limited_per_client_address(database):
    app = create_app(replace(database, public_rate_limit=3), migrate=False)

    async def from_address(address: str, headers: dict[str, str] | None = None) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(address, 40_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/graphql", json={"query": HEALTHY}, headers=headers)

    allowed = [await from_address("203.0.113.7") for _ in range(3)]
    over = await from_address("203.0.113.7")
    other_address = await from_address("198.51.100.2")
    with_a_key = await from_address("203.0.113.7", STOREFRONT)

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert over.status_code == 429
    assert 1 <= int(over.headers["retry-after"]) <= 20  # one request a 20 s at 3 a minute
    assert over.json()["errors"][0]["message"].startswith("too many requests without a key")
    assert other_address.status_code == 200
    assert with_a_key.status_code == 200


async def test_without_a_limit_setting_callers_without_a_key_are_not_limited(database):
    app = create_app(replace(database, public_rate_limit=0), migrate=False)
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        statuses = {
            (await client.post("/graphql", json={"query": HEALTHY})).status_code for _ in range(30)
        }

    assert statuses == {200}


@pytest.mark.parametrize(
    ("client", "address"),
    [
        (("203.0.113.7", 1), "203.0.113.7"),
        (("2001:db8:aa:bb:1:2:3:4", 1), "2001:db8:aa:bb::/64"),
        (("2001:db8:aa:bb:ffff::9", 1), "2001:db8:aa:bb::/64"),
        (("::ffff:203.0.113.7", 1), "203.0.113.7"),
        (None, "unknown"),
    ],
)
def test_client_addresses_count_ipv6_by_its_64_block(client, address):
    assert client_address({"type": "http", "client": client}) == address


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
