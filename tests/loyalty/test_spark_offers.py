"""Order lines out as Parquet, offers Parquet in through the versioned switch, and the Spark
retrain from the database end to end (local mode)."""

from __future__ import annotations

import json
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loyalty.offers import lake, publish
from loyalty.offers.offers_dir import OffersDirError, publish_offers_dir
from models import MemberOffer, ModelVersion, OrderLine, Product
from tests.loyalty.test_offers import NOW, seed

pytestmark = pytest.mark.usefixtures("database")
OFFERS_SCHEMA = pa.schema(
    [
        ("member_id", pa.int64()),
        ("rank", pa.int32()),
        ("product_id", pa.int64()),
        ("score", pa.float64()),
        ("reason", pa.string()),
    ]
)


async def test_export_writes_every_order_line_with_its_member_time_and_product(database, tmp_path):
    ids = await seed(database, members=3, weeks=2)

    result = await lake.export_order_lines(tmp_path / "lines", chunk_rows=4)

    table = pq.read_table(tmp_path / "lines")
    assert result.lines == table.num_rows == await OrderLine.all().count() == 18
    assert table.schema.equals(lake.SCHEMA)
    rows = table.to_pylist()
    assert {r["member_id"] for r in rows} == set(ids)
    own = [r for r in rows if r["member_id"] == ids[0] and r["amount_cents"] == 300]
    product = await Product.get(sku="OWN-0")
    assert {r["product_id"] for r in own} == {product.id}
    assert sorted(r["timestamp"] for r in own) == [
        NOW - timedelta(weeks=2),
        NOW - timedelta(weeks=1),
    ]
    assert {r["quantity"] for r in rows} == {1}


async def test_export_refuses_a_directory_that_is_not_empty(database, tmp_path):
    await seed(database, members=1, weeks=1)
    target = tmp_path / "target"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")

    with pytest.raises(lake.ExportError, match="not an empty directory"):
        await lake.export_order_lines(target)

    assert [p.name for p in target.iterdir()] == ["notes.txt"]


async def offers_dir(tmp_path, rows, recall=0.5, popularity=0.2):
    directory = tmp_path / "published"
    (directory / "offers").mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pylist(rows, schema=OFFERS_SCHEMA), directory / "offers" / "p.parquet"
    )
    document = {
        "engine": "spark",
        "metrics": {"recall@10": recall, "popularity_recall@10": popularity, "members": 1},
        "params": {"kind": "spark_blended"},
        "data_from": "2026-01-01T00:00:00+00:00",
        "data_to": "2026-05-31T00:00:00+00:00",
        "members": 1,
    }
    (directory / "metrics.json").write_text(json.dumps(document))
    return directory


async def test_publishing_an_offers_directory_switches_the_active_version(database, tmp_path):
    ids = await seed(database, members=2, weeks=1)
    own = await Product.get(sku="OWN-0")
    best = await Product.get(sku="BEST")
    rows = [
        {
            "member_id": ids[0],
            "rank": 0,
            "product_id": own.id,
            "score": 0.9,
            "reason": "BOUGHT_OFTEN",
        },
        {"member_id": None, "rank": 0, "product_id": best.id, "score": 1.0, "reason": "POPULAR"},
    ]
    source = await offers_dir(tmp_path, rows)

    result = await publish_offers_dir(source, tmp_path / "store")

    assert result.published, result.message
    active = await ModelVersion.get(active=True)
    assert active.version == result.version and active.params["kind"] == "spark_blended"
    assert active.path == str(tmp_path / "store" / result.version)
    assert (tmp_path / "store" / result.version / "metrics.json").is_file()
    stored = (
        await MemberOffer.filter(version_id=active.id)
        .order_by("member_id")
        .values_list("member_id", "product_id", "reason")
    )
    assert sorted(stored, key=str) == sorted(
        [(ids[0], own.id, "BOUGHT_OFTEN"), (None, best.id, "POPULAR")], key=str
    )


async def test_an_offers_directory_below_popularity_is_refused(database, tmp_path):
    ids = await seed(database, members=1, weeks=1)
    own = await Product.get(sku="OWN-0")
    rows = [
        {
            "member_id": ids[0],
            "rank": 0,
            "product_id": own.id,
            "score": 0.9,
            "reason": "BOUGHT_OFTEN",
        }
    ]
    source = await offers_dir(tmp_path, rows, recall=0.1, popularity=0.2)

    result = await publish_offers_dir(source, tmp_path / "store")

    assert not result.published and "below global popularity" in result.message
    assert await ModelVersion.all().count() == 0 and await MemberOffer.all().count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("unknown product", "not in the catalogue"),
        ("bad reason", "reason other than"),
        ("no metrics", "no metrics.json"),
    ],
)
async def test_a_bad_offers_directory_changes_nothing(database, tmp_path, change, message):
    ids = await seed(database, members=1, weeks=1)
    own = await Product.get(sku="OWN-0")
    row = {
        "member_id": ids[0],
        "rank": 0,
        "product_id": own.id,
        "score": 0.9,
        "reason": "BOUGHT_OFTEN",
    }
    if change == "unknown product":
        row["product_id"] = own.id + 10_000
    if change == "bad reason":
        row["reason"] = "BECAUSE"
    source = await offers_dir(tmp_path, [row])
    if change == "no metrics":
        (source / "metrics.json").unlink()

    with pytest.raises(OffersDirError, match=message):
        await publish_offers_dir(source, tmp_path / "store")

    assert await ModelVersion.all().count() == 0 and await MemberOffer.all().count() == 0


@pytest.mark.slow
async def test_spark_retrain_publishes_offers_from_the_database(database, tmp_path, spark):
    from loyalty.offers.spark_retrain import retrain_on_spark

    ids = await seed(database)

    result = await retrain_on_spark(tmp_path, holdout_weeks=2, now=NOW)

    assert result.published, result.message
    assert result.metrics["recall@10"] >= result.metrics["popularity_recall@10"]
    active = await ModelVersion.get(active=True)
    assert active.version == result.version and active.members == len(ids)
    first = await MemberOffer.get(version_id=active.id, member_id=ids[0], rank=0).prefetch_related(
        "product"
    )
    assert first.product.sku in {"OWN-0", "BEST"}
    products = await Product.all().count()
    fallback = await MemberOffer.filter(version_id=active.id, member_id=None).count()
    assert fallback == min(products, publish.OFFERS_PER_MEMBER)
    assert not (tmp_path / result.version / "lines").exists()
