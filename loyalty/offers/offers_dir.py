"""Publish a directory of offers Parquet (what the Spark engine writes) as a new version.

The directory holds ``metrics.json`` (holdout metrics, params, data span, members) and
``offers/`` (Parquet: member_id, null for the popularity fallback; rank; product_id; score;
reason). Publishing checks it all first, refuses a model below popularity by the rule
``loyalty retrain`` applies (:func:`loyalty.offers.publish.refusal`), writes the rows in one
transaction and switches the active version with the same single UPDATE. Bad input changes
nothing.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from loyalty import db
from loyalty.offers.publish import RetrainResult, activate, new_version, prune, refusal
from models import MemberOffer, ModelVersion, Product
from recommend.base import Reason

METRICS_FILE = "metrics.json"
OFFERS_DIR = "offers"
OFFER_COLUMNS = ("member_id", "rank", "product_id", "score", "reason")
BATCH_ROWS = 20_000


class OffersDirError(Exception):
    """The directory is not a complete, consistent set of offers."""


def read_document(directory: Path) -> dict[str, Any]:
    """``metrics.json`` of an offers directory, checked for the keys publishing needs."""
    path = directory / METRICS_FILE
    if not path.is_file():
        raise OffersDirError(f"{directory} has no {METRICS_FILE}: not an offers directory")
    try:
        document = json.loads(path.read_text())
    except ValueError as exc:
        raise OffersDirError(f"{path} is not valid JSON: {exc}") from exc
    metrics = document.get("metrics") if isinstance(document, dict) else None
    if not isinstance(metrics, dict) or not {"recall@10", "popularity_recall@10"} <= set(metrics):
        raise OffersDirError(f"{path} lacks the holdout metrics (recall@10, popularity)")
    return document


def open_offers(directory: Path) -> ds.Dataset:
    """The offers Parquet of ``directory``, with its columns checked."""
    path = directory / OFFERS_DIR
    if not path.is_dir():
        raise OffersDirError(f"{directory} has no {OFFERS_DIR}/ directory of Parquet files")
    dataset = ds.dataset(path, format="parquet")
    missing = [c for c in OFFER_COLUMNS if c not in dataset.schema.names]
    if missing:
        raise OffersDirError(f"offers in {path} lack column(s): {', '.join(missing)}")
    return dataset


async def _check_offers(dataset: ds.Dataset) -> tuple[int, int]:
    """(rows, members) after checking reasons, ranks and that every product exists."""
    reasons = pa.array([reason.value for reason in Reason])
    products: set[int] = set()
    members: set[int] = set()
    rows = 0
    for batch in dataset.to_batches(columns=list(OFFER_COLUMNS), batch_size=BATCH_ROWS):
        rows += batch.num_rows
        if pc.any(pc.invert(pc.is_in(batch.column("reason"), value_set=reasons))).as_py():
            raise OffersDirError("offers carry a reason other than " + ", ".join(Reason))
        if batch.column("product_id").null_count or batch.column("rank").null_count:
            raise OffersDirError("offers lack a product or a rank")
        if pc.min(batch.column("rank")).as_py() < 0:
            raise OffersDirError("offers carry a negative rank")
        products.update(pc.unique(batch.column("product_id")).to_pylist())
        members.update(m for m in pc.unique(batch.column("member_id")).to_pylist() if m is not None)
    if not rows:
        raise OffersDirError("the offers directory holds no rows")
    known: set[int] = set()
    wanted = sorted(products)
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        found: list[Any] = await Product.filter(id__in=chunk).values_list("id", flat=True)
        known.update(int(product) for product in found)
    unknown = [p for p in wanted if p not in known]
    if unknown:
        shown = ", ".join(str(p) for p in unknown[:5])
        raise OffersDirError(f"{len(unknown)} offered product(s) are not in the catalogue: {shown}")
    return rows, len(members)


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def publish_offers_dir(
    directory: str | Path,
    model_dir: str | Path,
    *,
    keep: int = 3,
    now: datetime | None = None,
    version: str | None = None,
) -> RetrainResult:
    """Publish the offers in ``directory`` as a new active version (or refuse, changing nothing).

    The version's files live in ``model_dir/<version>`` (``metrics.json`` is copied there when
    ``directory`` is elsewhere), so pruning old versions never deletes the caller's directory.
    """
    source = Path(directory)
    document = read_document(source)
    dataset = open_offers(source)
    version = version or new_version(now or datetime.now(UTC))
    metrics = document["metrics"]
    refused = refusal(metrics)
    if refused:
        return RetrainResult(version, False, refused, metrics)
    _, members = await _check_offers(dataset)
    home = Path(model_dir) / version
    if source.resolve() != home.resolve():  # noqa: ASYNC240 - no I/O but a path lookup
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / METRICS_FILE, home / METRICS_FILE)
    async with db.transaction() as conn:
        row = await ModelVersion.create(
            version=version,
            path=str(home),
            active=False,
            metrics=metrics,
            params=document.get("params", {}),
            data_from=_moment(document.get("data_from")),
            data_to=_moment(document.get("data_to")),
            members=members,
            using_db=conn,
        )
        for batch in dataset.to_batches(columns=list(OFFER_COLUMNS), batch_size=BATCH_ROWS):
            columns = {name: batch.column(name).to_pylist() for name in OFFER_COLUMNS}
            await db.bulk_insert(
                conn,
                MemberOffer,
                [
                    {
                        "version_id": row.id,
                        "member_id": member,
                        "rank": rank,
                        "product_id": product,
                        "score": score,
                        "reason": reason,
                    }
                    for member, rank, product, score, reason in zip(
                        *(columns[name] for name in OFFER_COLUMNS), strict=True
                    )
                ],
            )
    await activate(row.id)
    await prune(keep)
    return RetrainResult(version, True, f"published {version}", metrics)
