"""The ``loyalty`` command: serve, check, jobs, import, retrain, evaluate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from loyalty import db
from loyalty.settings import ConfigError, Settings, from_env, with_local_secrets


def _settings_for_serve() -> Settings:
    settings = from_env()
    if settings.missing_secrets():
        settings, created = with_local_secrets(settings)
        where = "generated now and kept in" if created else "read from"
        print(f"Keys {where} .loyalty-secrets.json (set LOYALTY_* variables to override):")
        print(f"  admin key:      {settings.admin_key.value}")
        print(f"  storefront key: {settings.storefront_key.value}")
        print(f"  webhook secret: {settings.webhook_secret.value}")
    return settings


def _export(settings: Settings) -> None:
    """Hand the effective settings to uvicorn worker processes through the environment."""
    os.environ["LOYALTY_DATABASE_URL"] = settings.database_url
    for name in ("admin_key", "storefront_key", "secret", "webhook_secret"):
        os.environ["LOYALTY_" + name.upper()] = getattr(settings, name).value


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings_for_serve()
    if settings.is_sqlite and args.workers > 1:
        print("several workers need PostgreSQL (SQLite has one writer); use --workers 1")
        return 2
    asyncio.run(db.migrate(settings))
    if args.demo:
        from loyalty import importer

        print(f"loading demo data: {args.demo} Complete Journey households (idempotent)")
        asyncio.run(importer.main(settings, households=args.demo))
    _export(settings)
    print(f"GraphQL on http://{args.host}:{args.port}/graphql  (database: {settings.database_url})")
    query = '{"query":"{ program { name pointsName } }"}'
    print(
        f"  try: curl -s http://{args.host}:{args.port}/graphql "
        f"-H 'Content-Type: application/json' -d '{query}'"
    )
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
    )
    return 0


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


def check(_: argparse.Namespace) -> int:
    return asyncio.run(_check(from_env()))


def migrate(_: argparse.Namespace) -> int:
    settings = from_env()
    asyncio.run(db.migrate(settings))
    print(f"schema up to date on {settings.database_url}")
    return 0


def import_data(args: argparse.Namespace) -> int:
    from loyalty import importer

    return asyncio.run(importer.main(from_env(), households=args.households))


def evaluate(args: argparse.Namespace) -> int:
    from recommend import evaluation

    return evaluation.main(holdout_weeks=args.holdout_weeks)


async def _jobs(settings: Settings, now: str | None) -> int:
    from datetime import datetime

    from loyalty import jobs

    moment = datetime.fromisoformat(now) if now else None
    await db.init(settings)
    try:
        from loyalty import dispatch

        report = await jobs.run(moment, settings, webhook_urls=dispatch.urls_from_env())
    finally:
        await db.close()
    print(report)
    return 0


def jobs_run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_jobs(from_env(), args.now))
    except ValueError as exc:
        print(f"--now must be an ISO date-time: {exc}", file=sys.stderr)
        return 2


async def _retrain(settings: Settings, holdout_weeks: int) -> int:
    from loyalty.offers import publish

    await db.init(settings)
    try:
        result = await publish.retrain(settings.model_dir, holdout_weeks=holdout_weeks)
    finally:
        await db.close()
    print(result.message)
    for name, value in result.metrics.items():
        print(f"  {name}: {value:.4f}" if isinstance(value, float) else f"  {name}: {value}")
    for name, seconds in result.timings.items():
        print(f"  {name} seconds: {seconds:.1f}")
    return 0 if result.published else 1


def retrain(args: argparse.Namespace) -> int:
    return asyncio.run(_retrain(from_env(), args.holdout_weeks))


def dispatch_events(_: argparse.Namespace) -> int:
    from loyalty import dispatch

    return asyncio.run(dispatch.main(from_env()))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="loyalty", description="Loyalty programme engine")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the GraphQL API (uvicorn)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument(
        "--demo",
        type=int,
        nargs="?",
        const=200,
        default=0,
        metavar="HOUSEHOLDS",
        help="first load this many Complete Journey households (default 200)",
    )
    s.set_defaults(run=serve)
    sub.add_parser("check", help="verify the ledger invariants").set_defaults(run=check)
    sub.add_parser("migrate", help="apply schema migrations").set_defaults(run=migrate)
    j = sub.add_parser("jobs", help="batch jobs").add_subparsers(dest="job", required=True)
    r = j.add_parser("run", help="expiry and every other job due now")
    r.add_argument("--now", default=None, help="ISO date-time to run as (default: now)")
    r.set_defaults(run=jobs_run)
    sub.add_parser(
        "dispatch", help="deliver due outgoing events to LOYALTY_WEBHOOK_URLS"
    ).set_defaults(run=dispatch_events)
    i = sub.add_parser("import", help="load a data set into the database")
    i.add_argument("dataset", choices=["completejourney"])
    i.add_argument("--households", type=int, default=None, help="only the first N households")
    i.set_defaults(run=import_data)
    t = sub.add_parser("retrain", help="train the recommender from the database and publish it")
    t.add_argument("--holdout-weeks", type=int, default=4)
    t.set_defaults(run=retrain)
    e = sub.add_parser("evaluate", help="offline metrics of the recommender against baselines")
    e.add_argument("--holdout-weeks", type=int, default=8)
    e.set_defaults(run=evaluate)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
