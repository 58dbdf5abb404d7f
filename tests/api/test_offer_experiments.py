"""Offer feedback, experiments and offerability through the GraphQL API, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.context import Role
from loyalty import orders
from loyalty.offers import experiments, feedback, publish
from models import Experiment, MemberOffer, ModelVersion, NonOfferableCategory, OfferEvent, Product
from tests.support import enroll, gql, lines

pytestmark = pytest.mark.usefixtures("database")
NOW = datetime.now(UTC).replace(microsecond=0)
OFFERS = "{ me { offers(first: 8) { offerId kind reason product { sku } reward { name } } } }"
RECORD = """mutation($events: [OfferEventInput!]!) {
  recordOfferEvents(input: {events: $events}) {
    recorded duplicates userErrors { field code } } }"""
CREATE = """mutation($input: CreateExperimentInput!) {
  createExperiment(input: $input) {
    experiment { id name arms { name weight source modelVersionId } }
    userErrors { field code message } } }"""
REPORT = """query($id: ID!) { experimentReport(id: $id) {
  name attributionDays sampleRatioMismatch warning
  arms { name source members impressions clicks clickRate conversions conversionRate
         revenue orders revenuePerMember ordersPerMember
         revenueDifference { difference low high method } } } }"""


async def shop(settings, members: int = 4) -> list[int]:
    """Members who each bought BEST twice and a FUEL line; BEST is the most popular product."""
    ids = []
    for i in range(members):
        member = await enroll(f"m-{i}")
        ids.append(member.id)
        await orders.record_order(
            settings,
            orders.OrderInput(
                f"seed-{i}",
                f"m-{i}",
                lines(("BEST", 1, "2.00"), ("FUEL", 1, "40.00"), (f"OWN-{i}", 1, "3.00")),
                placed_at=NOW - timedelta(days=30),
            ),
        )
    return ids


def arms(*sources: tuple[str, str]) -> list[dict[str, object]]:
    return [{"name": name, "weight": 1, "source": source} for name, source in sources]


async def start(settings, arm_list, name="exp", starts=NOW - timedelta(days=1)) -> str:
    data = await gql(
        settings,
        CREATE,
        {
            "input": {
                "name": name,
                "arms": arm_list,
                "startsAt": starts.isoformat(),
                "endsAt": (starts + timedelta(days=14)).isoformat(),
            }
        },
    )
    payload = data["createExperiment"]
    assert payload["userErrors"] == []
    return payload["experiment"]["id"]


async def member_in(wanted: int, candidates: list[int]) -> int:
    """A member the hash puts into arm ``wanted`` of this experiment."""
    experiment = await Experiment.get(name="exp")
    weights = [a.weight for a in await experiments.arms_of(experiment.id)]
    for member in candidates:
        if experiments.arm_index(experiment.id, member, weights) == wanted:
            return member
    raise AssertionError("no candidate in that arm; add members")


async def offers_of(settings, member_id: int) -> list[dict[str, object]]:
    return (await gql(settings, OFFERS, role=Role.MEMBER, member_id=member_id))["me"]["offers"]


async def test_a_holdout_member_gets_no_product_offers(database):
    ids = await shop(database, members=12)
    await start(database, arms(("holdout", "NONE"), ("popular", "POPULAR")))

    held = await offers_of(database, await member_in(0, ids))
    served = await offers_of(database, await member_in(1, ids))

    assert [o for o in held if o["kind"] == "PRODUCT"] == []
    assert {o["product"]["sku"] for o in served if o["kind"] == "PRODUCT"} >= {"BEST"}


async def test_a_model_version_arm_serves_that_version_and_popular_arm_its_fallback(database):
    ids = await shop(database, members=12)
    old = await ModelVersion.create(version="old", path="/nowhere", active=False)
    new = await ModelVersion.create(version="new", path="/nowhere", active=True)
    best = await Product.get(sku="BEST")
    for member in ids:
        own = await Product.get(sku=f"OWN-{ids.index(member)}")
        await MemberOffer.create(
            version=old, member_id=member, rank=0, product=own, score=1.0, reason="BOUGHT_OFTEN"
        )
    await MemberOffer.create(
        version=new, member_id=None, rank=0, product=best, score=1.0, reason="POPULAR"
    )
    version_gid = (await gql(database, "{ modelVersions { id version } }"))["modelVersions"][1][
        "id"
    ]
    arm_list = [
        {"name": "popular", "weight": 1, "source": "POPULAR"},
        {
            "name": "old-model",
            "weight": 1,
            "source": "MODEL_VERSION",
            "modelVersionId": version_gid,
        },
    ]
    await start(database, arm_list)

    in_model = await member_in(1, ids)
    in_popular = await member_in(0, ids)
    model_offers = await offers_of(database, in_model)
    popular_offers = await offers_of(database, in_popular)

    assert model_offers[-1]["product"]["sku"] == f"OWN-{ids.index(in_model)}"
    assert model_offers[-1]["reason"] == "BOUGHT_OFTEN"
    assert [o["product"]["sku"] for o in popular_offers if o["kind"] == "PRODUCT"] == ["BEST"]


@pytest.mark.parametrize(
    ("arm_list", "field", "code"),
    [
        (arms(("only", "POPULAR")), "arms", "INVALID"),
        (arms(("a", "POPULAR"), ("a", "NONE")), "arms.1.name", "INVALID"),
        (
            [{"name": "m", "weight": 1, "source": "MODEL_VERSION"}, *arms(("b", "NONE"))],
            "arms.0.modelVersionId",
            "INVALID",
        ),
        (
            [{"name": "z", "weight": 0, "source": "POPULAR"}, *arms(("b", "NONE"))],
            "arms.0.weight",
            "INVALID",
        ),
    ],
)
async def test_bad_experiments_are_refused_and_nothing_is_created(database, arm_list, field, code):
    data = await gql(
        database,
        CREATE,
        {
            "input": {
                "name": "bad",
                "arms": arm_list,
                "startsAt": NOW.isoformat(),
                "endsAt": (NOW + timedelta(days=1)).isoformat(),
            }
        },
    )

    errors = data["createExperiment"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(field.split("."), code)]
    assert await Experiment.all().count() == 0


async def test_overlapping_experiments_are_refused(database):
    await start(database, arms(("a", "POPULAR"), ("b", "NONE")))

    data = await gql(
        database,
        CREATE,
        {
            "input": {
                "name": "second",
                "arms": arms(("a", "POPULAR"), ("b", "NONE")),
                "startsAt": (NOW + timedelta(days=3)).isoformat(),
                "endsAt": (NOW + timedelta(days=30)).isoformat(),
            }
        },
    )

    assert [e["code"] for e in data["createExperiment"]["userErrors"]] == ["IDEMPOTENCY_CONFLICT"]
    assert await Experiment.all().count() == 1


async def test_a_member_cannot_record_events_for_another_members_offers(database):
    ids = await shop(database, members=2)
    mine = (await offers_of(database, ids[0]))[0]["offerId"]
    theirs = (await offers_of(database, ids[1]))[0]["offerId"]
    at = NOW.isoformat()

    data = await gql(
        database,
        RECORD,
        {
            "events": [
                {"offerId": mine, "kind": "IMPRESSION", "at": at},
                {"offerId": theirs, "kind": "IMPRESSION", "at": at},
            ]
        },
        role=Role.MEMBER,
        member_id=ids[0],
    )

    payload = data["recordOfferEvents"]
    assert payload["userErrors"] == [{"field": ["events", "1", "offerId"], "code": "NOT_FOUND"}]
    assert await OfferEvent.all().count() == 0  # the whole batch is refused


async def test_a_forged_offer_id_is_refused(database):
    ids = await shop(database, members=1)
    genuine = (await offers_of(database, ids[0]))[0]["offerId"]
    ref = feedback.decode(genuine, database.secret.value)
    forged = feedback.encode(feedback.OfferRef(ids[0], 0, 0, "P", ref.item_id), "not-the-secret")

    data = await gql(
        database,
        RECORD,
        {"events": [{"offerId": forged, "kind": "CLICK", "at": NOW.isoformat()}]},
        role=Role.MEMBER,
        member_id=ids[0],
    )

    assert data["recordOfferEvents"]["userErrors"] == [
        {"field": ["events", "0", "offerId"], "code": "INVALID_ID"}
    ]
    assert await OfferEvent.all().count() == 0


async def test_offer_ids_are_stable_and_a_retried_batch_is_stored_once(database):
    ids = await shop(database, members=1)
    first = [o["offerId"] for o in await offers_of(database, ids[0])]
    again = [o["offerId"] for o in await offers_of(database, ids[0])]
    events = [{"offerId": first[0], "kind": "IMPRESSION", "at": NOW.isoformat()}]

    one = await gql(database, RECORD, {"events": events}, role=Role.MEMBER, member_id=ids[0])
    two = await gql(database, RECORD, {"events": events}, role=Role.MEMBER, member_id=ids[0])

    assert first == again and len(set(first)) == len(first)
    assert (one["recordOfferEvents"]["recorded"], two["recordOfferEvents"]["duplicates"]) == (1, 1)
    assert await OfferEvent.all().count() == 1


async def test_report_attributes_an_offer_once_and_compares_the_arms(database):
    ids = await shop(database, members=12)
    gid = await start(database, arms(("holdout", "NONE"), ("popular", "POPULAR")))
    member = await member_in(1, ids)
    external = f"m-{ids.index(member)}"
    offer = next(o for o in await offers_of(database, member) if o["kind"] == "PRODUCT")
    assert offer["product"]["sku"] == "BEST"
    shown = NOW - timedelta(hours=5)
    events = [
        {"offerId": offer["offerId"], "kind": "IMPRESSION", "at": shown.isoformat()},
        {
            "offerId": offer["offerId"],
            "kind": "CLICK",
            "at": (shown + timedelta(minutes=1)).isoformat(),
        },
    ]
    await gql(database, RECORD, {"events": events}, role=Role.MEMBER, member_id=member)
    for n in range(2):  # the offered product, bought in two orders
        await orders.record_order(
            database,
            orders.OrderInput(
                f"after-{n}",
                external,
                lines(("BEST", 2, "2.00")),
                placed_at=shown + timedelta(hours=1 + n),
            ),
        )

    report = (await gql(database, REPORT, {"id": gid}))["experimentReport"]

    holdout, popular = report["arms"]
    assert report["attributionDays"] == 7
    assert holdout["members"] + popular["members"] == 12
    assert (popular["impressions"], popular["clicks"], popular["conversions"]) == (1, 1, 1)
    assert popular["conversionRate"] == 1.0 and popular["clickRate"] == 1.0
    assert (popular["orders"], popular["revenue"]) == (2, "8.00")
    assert holdout["impressions"] == 0 and holdout["conversionRate"] is None
    assert holdout["revenueDifference"] is None
    difference = popular["revenueDifference"]
    assert difference["method"] in ("welch", "bootstrap")
    assert difference["difference"] == pytest.approx(8.0 / popular["members"])


async def test_products_and_categories_marked_not_offerable_are_never_offered(database, tmp_path):
    ids = await shop(database, members=3)
    before = {o["product"]["sku"] for o in await offers_of(database, ids[0]) if o["product"]}
    assert "FUEL" in before

    mutation = """mutation { setProductOfferable(input: {sku: "FUEL", offerable: false}) {
        product { sku offerable } userErrors { code } } }"""
    data = await gql(database, mutation)
    after = {o["product"]["sku"] for o in await offers_of(database, ids[0]) if o["product"]}

    assert data["setProductOfferable"]["product"] == {"sku": "FUEL", "offerable": False}
    assert "FUEL" not in after and "BEST" in after
    interactions = await publish.load_interactions()
    fuel = await Product.get(sku="FUEL")
    assert fuel.id not in set(interactions["product_id"]) and len(interactions) == 6


async def test_a_category_marked_not_offerable_leaves_the_offers(database):
    ids = await shop(database, members=2)
    await Product.filter(sku="BEST").update(category="snacks")
    mutation = """mutation($offerable: Boolean!) {
        setCategoryOfferable(input: {category: "snacks", offerable: $offerable}) {
        nonOfferableCategories userErrors { code } } }"""

    off = await gql(database, mutation, {"offerable": False})
    hidden = {o["product"]["sku"] for o in await offers_of(database, ids[0]) if o["product"]}
    on = await gql(database, mutation, {"offerable": True})
    shown = {o["product"]["sku"] for o in await offers_of(database, ids[0]) if o["product"]}

    assert off["setCategoryOfferable"]["nonOfferableCategories"] == ["snacks"]
    assert "BEST" not in hidden and "BEST" in shown
    assert on["setCategoryOfferable"]["nonOfferableCategories"] == []
    assert await NonOfferableCategory.all().count() == 0


async def test_marking_an_unknown_product_is_a_user_error(database):
    mutation = """mutation { setProductOfferable(input: {sku: "NOPE", offerable: false}) {
        product { sku } userErrors { field code } } }"""

    data = await gql(database, mutation)

    assert data["setProductOfferable"] == {
        "product": None,
        "userErrors": [{"field": ["sku"], "code": "NOT_FOUND"}],
    }


async def test_offer_mutations_need_their_roles(database):
    from tests.support import gql_errors

    errors = await gql_errors(database, RECORD, {"events": []}, role=Role.ADMIN)
    assert errors == ["not authorised for this operation"]
    errors = await gql_errors(database, "{ experiments { id } }", role=Role.STOREFRONT)
    assert errors == ["not authorised for this operation"]
