"""What the numbers were measured on."""

from __future__ import annotations

import os
import platform
import sqlite3
from importlib import metadata
from pathlib import Path

LIBRARIES = ("strawberry-graphql", "starlette", "uvicorn", "tortoise-orm", "asyncpg", "aiosqlite")


def cpu_model() -> str:
    """The model name /proc/cpuinfo gives (or the platform's guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def load() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews the numbers."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def describe(postgres_version: str | None) -> list[str]:
    """Lines for the top of the output."""
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} ?")
    return [
        f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs "
        f"({len(os.sched_getaffinity(0))} usable), memory {memory()}",
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}",
        f"SQLite {sqlite3.sqlite_version}, PostgreSQL {postgres_version or 'not used'}",
        ", ".join(versions),
        f"load average at start: {load()}",
    ]


class Busy:
    """How busy all CPUs of the machine were between ``start()`` and ``fraction()``."""

    def __init__(self) -> None:
        self._start = _cpu_jiffies()

    def fraction(self) -> float:
        """Busy time over total time of all CPUs since the start (0..1; NaN if unknown)."""
        busy0, total0 = self._start
        busy1, total1 = _cpu_jiffies()
        return (busy1 - busy0) / (total1 - total0) if total1 > total0 else float("nan")


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat; (0, 0) where there is none."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return 0, 0
    values = [int(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values[:8]) - idle, sum(values[:8])
