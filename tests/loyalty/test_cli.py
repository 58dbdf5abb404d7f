"""The batch commands run with the keys ``serve`` uses: those of the secrets file when the
environment sets none, so events go out signed with the events secret kept there."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from loyalty import cli, db
from loyalty.events import dispatch, signing
from loyalty.settings import KEYS, Settings
from models import EventDelivery
from tests.support import enroll, order

Delivery = tuple[dict[str, str], bytes]


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[Delivery]]]:
    """An event receiver on the loopback interface: its URL and what it was sent."""
    received: list[Delivery] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/events", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def one_order(settings: Settings) -> None:
    """An empty database holding one member with one order, so one event waits to go out."""
    await db.init(settings, apply_migrations=False)
    try:
        if not settings.is_sqlite:
            await db.connection().execute_script(
                "TRUNCATE members, outbox_events, event_deliveries RESTART IDENTITY CASCADE"
            )
        await enroll()
        await order(settings, "o-1", amount="25.00")
    finally:
        await db.close()


async def deliveries(settings: Settings) -> list[str]:
    await db.init(settings, apply_migrations=False)
    try:
        return [d.status for d in await EventDelivery.all()]
    finally:
        await db.close()


@pytest.fixture
def secrets_file_only(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A working directory whose secrets file holds every key, and no key in the environment."""
    for name in list(os.environ):
        if name.startswith("LOYALTY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", settings.database_url)
    keys = {name: f"{name}-from-the-secrets-file-0123456789" for name in KEYS}
    folder = tmp_path / "workdir"
    folder.mkdir()
    secrets_file = folder / ".loyalty-secrets.json"
    secrets_file.write_text(json.dumps(keys))
    secrets_file.chmod(0o600)
    monkeypatch.chdir(folder)
    return keys


@pytest.mark.parametrize("command", [["dispatch"], ["jobs", "run"]], ids=["dispatch", "jobs"])
def test_batch_commands_sign_events_with_the_events_secret_of_the_secrets_file(
    settings, secrets_file_only, receiver, monkeypatch, command
):
    url, received = receiver
    monkeypatch.setenv("LOYALTY_WEBHOOK_URLS", url)
    asyncio.run(one_order(settings))

    assert cli.main(command) == 0

    assert received
    for headers, body in received:
        signature = headers[dispatch.SIGNATURE_HEADER]
        assert signing.verify(body, secret=secrets_file_only["events_secret"], signature=signature)
        assert not signing.verify(
            body, secret=secrets_file_only["webhook_secret"], signature=signature
        )
    assert asyncio.run(deliveries(settings)) == ["delivered"] * len(received)


@pytest.mark.parametrize(
    "command",
    [
        ["import", "synthetic"],
        ["import", "synthetic", "--households", "3"],
        ["import", "synthetic", "--scale", "0"],
        ["import", "completejourney", "--scale", "2"],
        ["retrain", "--processes", "0"],
    ],
    ids=["no-size", "households", "zero-scale", "scale-for-real", "no-processes"],
)
def test_size_options_out_of_place_are_refused_before_anything_runs(
    settings, secrets_file_only, command, capsys
):
    assert cli.main(command) == 2

    assert capsys.readouterr().err.strip()


def test_evaluate_ends_with_the_simulated_experiment(monkeypatch, capsys):
    import argparse

    from loyalty.offers import simulation
    from recommend import evaluation

    def product_table(holdout_weeks: int) -> int:
        print(f"product table, {holdout_weeks} weeks")
        return 1

    monkeypatch.setattr(evaluation, "main", product_table)
    monkeypatch.setattr(simulation, "table", lambda weeks: f"simulation table, {weeks} weeks")

    status = cli.evaluate(
        argparse.Namespace(holdout_weeks=6, spark=False, spark_master=None), Settings()
    )

    out = capsys.readouterr().out
    assert status == 1  # the product targets decide the exit status
    assert out.index("product table, 6 weeks") < out.index("simulation table, 6 weeks")


@pytest.mark.parametrize(
    ("argv", "needs"),
    [
        (["retrain", "--spark-master", "spark://h:7077"], "--engine spark"),
        (["evaluate", "--spark-master", "spark://h:7077"], "--spark"),
    ],
)
def test_a_spark_master_without_spark_is_refused_before_anything_runs(argv, needs, capsys):
    args = cli.parser().parse_args(argv)

    assert args.run(args, None) == 2
    assert needs in capsys.readouterr().err
