"""The batch commands of ``loyalty``: check, migrate, jobs, rollups, dispatch, sync, member
export, import, export, retrain, publish, evaluate, simulate-experiment.

``loyalty serve`` is added by ``api.cli``, the console entry point: the domain does not start
web servers."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from loyalty import db
from loyalty.settings import (
    KEYS,
    SECRETS_FILE,
    ConfigError,
    Settings,
    from_env,
    variable,
    with_local_secrets,
)

if TYPE_CHECKING:
    from loyalty.offers.publish import RetrainResult

# Keys someone outside the service has to be given; the token-signing secret stays inside.
_HANDED_OUT = ("admin_key", "storefront_key", "webhook_secret", "events_secret")


def load_settings(path: Path | None = None) -> Settings:
    """The settings every command runs with: the environment, then the secrets file for the
    keys it does not set (generated there when missing), checked before anything runs."""
    settings = from_env()
    missing = settings.missing_secrets()
    if missing:
        settings, generated = with_local_secrets(settings, path)
        announce_keys(settings, missing, generated, path or Path(SECRETS_FILE))
    settings.require_secrets(KEYS)
    return settings


def announce_keys(
    settings: Settings, from_file: Sequence[str], generated: Sequence[str], path: Path
) -> None:
    """Show a key taken from the secrets file in full only when it was generated just now;
    afterwards only its fingerprint, so logs of later runs do not carry it."""
    print(f"Keys from {path} (set LOYALTY_* variables to override):")
    for name in from_file:
        key = getattr(settings, name)
        shown = key.value if name in generated and name in _HANDED_OUT else key.fingerprint()
        note = " (generated now)" if name in generated else ""
        print(f"  {variable(name):<24} {shown}{note}")


async def _check(settings: Settings) -> int:
    from loyalty.ledger.check import violations

    await db.init(settings)
    try:
        found = await violations()
    finally:
        await db.close()
    for violation in found:
        print(f"VIOLATION {violation}")
    print(f"checked ledger invariants on {settings.database_url}: {len(found)} violation(s)")
    return 1 if found else 0


def check(_: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_check(settings))


def migrate(_: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(db.migrate(settings))
    print(f"schema up to date on {settings.database_url}")
    return 0


async def _export_member(settings: Settings, external_id: str) -> int:
    from loyalty.errors import LoyaltyError
    from loyalty.privacy import export

    await db.init(settings)
    try:
        document = await export.export_by_external_id(external_id)
    except LoyaltyError as exc:
        print(f"no member with externalId {external_id!r}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await db.close()
    print(json.dumps(document, indent=2, sort_keys=True))
    return 0


def member_export(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_export_member(settings, args.external_id))


def import_data(args: argparse.Namespace, settings: Settings) -> int:
    from loyalty.ops import importer

    if args.dataset == "synthetic":
        if args.households is not None:
            print(
                "--households is for completejourney; synthetic takes --scale or --members",
                file=sys.stderr,
            )
            return 2
        return asyncio.run(importer.main_synthetic(settings, args.scale, args.members))
    if args.scale is not None or args.members is not None:
        print(
            "--scale and --members are for synthetic; completejourney takes --households",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(importer.main(settings, households=args.households))


def evaluate(args: argparse.Namespace, _: Settings) -> int:
    from loyalty.offers import simulation
    from recommend import evaluation

    if args.spark_master and not args.spark:
        print("--spark-master needs --spark", file=sys.stderr)
        return 2
    if args.spark:
        from recommend.spark import evaluation as spark_evaluation

        status = spark_evaluation.main(args.holdout_weeks, args.spark_master)
    else:
        status = evaluation.main(holdout_weeks=args.holdout_weeks)
    print()
    print(f"Simulated offer experiment, {args.holdout_weeks}-week window")
    print(simulation.table(args.holdout_weeks))
    return status


def simulate_experiment(args: argparse.Namespace, _: Settings) -> int:
    from loyalty.offers import simulation

    return simulation.main(args.holdout_weeks, args.households)


async def _export(settings: Settings, target: str) -> int:
    from loyalty.offers import lake

    await db.init(settings)
    try:
        result = await lake.export_order_lines(target)
    except lake.ExportError as exc:
        print(f"export refused: {exc}", file=sys.stderr)
        return 2
    finally:
        await db.close()
    print(f"exported {result.lines} order lines to {result.path}")
    return 0


def export(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_export(settings, args.to))


async def _publish_offers(settings: Settings, source: str) -> int:
    from loyalty.offers.offers_dir import OffersDirError, publish_offers_dir

    await db.init(settings)
    try:
        result = await publish_offers_dir(source, settings.model_dir)
    except OffersDirError as exc:
        print(f"publish refused: {exc}", file=sys.stderr)
        return 2
    finally:
        await db.close()
    return _report(result)


def publish_offers(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_publish_offers(settings, args.source))


async def _jobs(settings: Settings, now: str | None) -> int:
    from datetime import datetime

    from loyalty.ops import jobs

    moment = datetime.fromisoformat(now) if now else None
    await db.init(settings)
    try:
        from loyalty.events import dispatch

        report = await jobs.run(moment, settings, webhook_urls=dispatch.urls_from_env())
    finally:
        await db.close()
    print(report)
    return 0


def jobs_run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return asyncio.run(_jobs(settings, args.now))
    except ValueError as exc:
        print(f"--now must be an ISO date-time: {exc}", file=sys.stderr)
        return 2


async def _retrain(args: argparse.Namespace, settings: Settings) -> int:
    from loyalty.offers import publish

    await db.init(settings)
    try:
        if args.engine == "spark":
            from loyalty.offers.spark_retrain import retrain_on_spark

            result = await retrain_on_spark(
                settings.model_dir, master=args.spark_master, holdout_weeks=args.holdout_weeks
            )
        else:
            result = await publish.retrain(
                settings.model_dir, holdout_weeks=args.holdout_weeks, processes=args.processes
            )
    finally:
        await db.close()
    return _report(result)


def _report(result: RetrainResult) -> int:
    print(result.message)
    for name, value in result.metrics.items():
        print(f"  {name}: {value:.4f}" if isinstance(value, float) else f"  {name}: {value}")
    for name, seconds in result.timings.items():
        print(f"  {name} seconds: {seconds:.1f}")
    for name, count in result.counts.items():
        print(f"  {name}: {count}")
    return 0 if result.published else 1


def retrain(args: argparse.Namespace, settings: Settings) -> int:
    if args.processes is not None and args.processes < 1:
        print("--processes must be at least 1", file=sys.stderr)
        return 2
    if args.spark_master and args.engine != "spark":
        print("--spark-master needs --engine spark", file=sys.stderr)
        return 2
    return asyncio.run(_retrain(args, settings))


def dispatch_events(_: argparse.Namespace, settings: Settings) -> int:
    from loyalty.events import dispatch

    return asyncio.run(dispatch.main(settings))


async def _rebuild_rollups(settings: Settings, since: str | None) -> int:
    from datetime import date

    from loyalty.reports import rollups

    try:
        start = date.fromisoformat(since) if since else None
    except ValueError:
        print(f"--since must be an ISO date (YYYY-MM-DD), not {since!r}", file=sys.stderr)
        return 2
    await db.init(settings)
    try:
        report = await rollups.rebuild(start)
    finally:
        await db.close()
    print(f"rebuilt the report rollups {'from ' + since if since else 'from the start'}; {report}")
    return 1 if report.skipped else 0


def rebuild_rollups(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_rebuild_rollups(settings, args.since))


def sync(args: argparse.Namespace, settings: Settings) -> int:
    from loyalty.platforms import sync

    return asyncio.run(sync.main(settings, args.platform, args.since))


Commands = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def parser(extra: Commands | None = None) -> argparse.ArgumentParser:
    """The command line; ``extra`` adds commands of the outer layers (``serve``, in ``api.cli``)."""
    p = argparse.ArgumentParser(prog="loyalty", description="Loyalty programme engine")
    sub = p.add_subparsers(dest="command", required=True)
    if extra is not None:
        extra(sub)
    sub.add_parser("check", help="verify the ledger invariants").set_defaults(run=check)
    sub.add_parser("migrate", help="apply schema migrations").set_defaults(run=migrate)
    j = sub.add_parser("jobs", help="batch jobs").add_subparsers(dest="job", required=True)
    r = j.add_parser("run", help="expiry and every other job due now")
    r.add_argument("--now", default=None, help="ISO date-time to run as (default: now)")
    r.set_defaults(run=jobs_run)
    u = sub.add_parser("rollups", help="the daily rollups the programme report reads")
    b = u.add_subparsers(dest="rollups", required=True).add_parser(
        "rebuild", help="recount the rollups from the source rows (all days, or from --since)"
    )
    b.add_argument("--since", default=None, help="first day to recount, YYYY-MM-DD (UTC)")
    b.set_defaults(run=rebuild_rollups)
    sub.add_parser(
        "dispatch", help="deliver due outgoing events to LOYALTY_WEBHOOK_URLS"
    ).set_defaults(run=dispatch_events)
    s = sub.add_parser("sync", help="pull customers, orders and refunds from a shop platform")
    s.add_argument("platform", choices=["shopify", "woocommerce", "bigcommerce"])
    s.add_argument("--since", required=True, help="ISO date or date-time (UTC without an offset)")
    s.set_defaults(run=sync)
    m = sub.add_parser("member", help="one member's data").add_subparsers(
        dest="member_command", required=True
    )
    x = m.add_parser("export", help="print everything held about a member as JSON")
    x.add_argument("external_id", help="the shop's customer id of the member")
    x.set_defaults(run=member_export)
    i = sub.add_parser("import", help="load a data set into the database")
    i.add_argument("dataset", choices=["completejourney", "synthetic"])
    i.add_argument("--households", type=int, default=None, help="only the first N households")
    i.add_argument(
        "--scale", type=int, default=None, help="synthetic: the data set's households K times"
    )
    i.add_argument("--members", type=int, default=None, help="synthetic: N cloned households")
    i.set_defaults(run=import_data)
    t = sub.add_parser("retrain", help="train the recommender from the database and publish it")
    t.add_argument("--holdout-weeks", type=int, default=4)
    t.add_argument(
        "--processes",
        type=int,
        default=None,
        help="processes that precompute offers (default: one per core, fewer for few members)",
    )
    t.add_argument("--engine", choices=["local", "spark"], default="local")
    t.add_argument("--spark-master", default=None, help="Spark master URL (default local[2])")
    t.set_defaults(run=retrain)
    x = sub.add_parser("export", help="write database tables as Parquet")
    x.add_argument("table", choices=["order-lines"])
    x.add_argument("--to", required=True, help="an empty or new directory")
    x.set_defaults(run=export)
    pub = sub.add_parser("publish", help="publish precomputed offers as the active version")
    pub.add_argument("what", choices=["offers"])
    pub.add_argument("--from", dest="source", required=True, help="offers directory (Parquet)")
    pub.set_defaults(run=publish_offers)
    e = sub.add_parser("evaluate", help="offline metrics of the recommender against baselines")
    e.add_argument("--holdout-weeks", type=int, default=8)
    e.add_argument("--spark", action="store_true", help="add the Spark engine's row")
    e.add_argument("--spark-master", default=None, help="Spark master URL (default local[2])")
    e.set_defaults(run=evaluate)
    x = sub.add_parser(
        "simulate-experiment",
        help="replay The Complete Journey's last weeks as an offer experiment",
    )
    x.add_argument("--holdout-weeks", type=int, default=8)
    x.add_argument("--households", type=int, default=None, help="only the first N households")
    x.set_defaults(run=simulate_experiment)
    return p


def main(argv: Sequence[str] | None = None, extra: Commands | None = None) -> int:
    """Run one command with the settings ``load_settings`` gives (2 on bad configuration)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser(extra).parse_args(argv)
    try:
        return int(args.run(args, load_settings()))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
