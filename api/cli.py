"""The ``loyalty`` console command: ``serve`` runs the API under uvicorn; every other command is
the domain's (``loyalty.cli``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from loyalty import cli, db
from loyalty.settings import KEYS, Settings, variable


def _export(settings: Settings) -> None:
    """Hand the effective settings to uvicorn worker processes through the environment."""
    os.environ["LOYALTY_DATABASE_URL"] = settings.database_url
    for name in KEYS:
        os.environ[variable(name)] = getattr(settings, name).value


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate, optionally load the demo, then run the API with the settings in force."""
    import uvicorn

    if settings.is_sqlite and args.workers > 1:
        print("several workers need PostgreSQL (SQLite has one writer); use --workers 1")
        return 2
    asyncio.run(db.migrate(settings))
    if args.demo:
        from loyalty.ops import demo

        print(
            f"loading demo data: {args.demo} Complete Journey households, a sample programme "
            "and a trained recommender (idempotent)"
        )
        asyncio.run(demo.main(settings, households=args.demo))
    _export(settings)
    print(f"GraphQL on http://{args.host}:{args.port}/graphql  (database: {settings.database_url})")
    print(f"Console on http://{args.host}:{args.port}/console  (sign in with the admin key)")
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


def add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``serve`` command and its options."""
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


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, extra=add_serve)


if __name__ == "__main__":
    sys.exit(main())
