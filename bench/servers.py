"""uvicorn in a subprocess, the way production runs it (``--factory``, N workers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.database import server_env
from loyalty.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
APP = "api.app:app_from_env"
FLOOR = "bench.floor:app_from_env"
RAW_FLOOR = "bench.raw_floor:app_from_env"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Server:
    """A running server: its base URL and the pid of its uvicorn process."""

    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by uvicorn and its worker processes."""
        parents: dict[int, int] = {}
        times: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            pid = int(entry.name)
            parents[pid] = int(fields[1])
            times[pid] = (int(fields[11]) + int(fields[12])) / TICKS
        tree = {self.pid}
        grew = True
        while grew:
            children = {pid for pid, parent in parents.items() if parent in tree} - tree
            grew = bool(children)
            tree |= children
        return sum(times.get(pid, 0.0) for pid in tree)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(factory: str, settings: Settings, log: Path, *, workers: int = 1) -> Iterator[Server]:
    """Serve ``factory`` on a free port until the block ends."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, **server_env(settings), "PYTHONPATH": path}
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out)
    server = Server(f"http://127.0.0.1:{port}", process.pid)
    try:
        _wait_ready(server.base, process, log, workers)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, workers: int) -> None:
    """Until /readyz answers 200 (a few times over with several workers)."""
    deadline = time.monotonic() + 60
    ready = 0
    while ready < 2 * workers:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                ready += 1
                continue
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{base} did not become ready; server log:\n{tail}")
        time.sleep(0.1)
    if workers > 1:
        time.sleep(1.0)  # the other workers finish their start-up
