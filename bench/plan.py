"""How big a run is (full or ``--quick``), and what every benchmark of a backend shares."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import Numbering
from bench.seed import Seeded
from loyalty.members import tokens
from loyalty.settings import Settings


@dataclass(frozen=True)
class Plan:
    """Sizes of one run. Requests are per variant and round; ``warmup`` unmeasured ones first."""

    members: int
    entries_per_member: int
    products: int
    read_requests: int
    write_requests: int
    preview_requests: int
    scaling_read_requests: int
    scaling_write_requests: int
    warmup: int
    rounds: int
    import_shares: tuple[float, ...]  # of the Complete Journey households, one import each
    data_scales: tuple[float, ...]  # times the Complete Journey households, one database each
    concurrency: int = 16
    workers: tuple[int, ...] = (1, 2, 4)


FULL = Plan(
    members=1000,
    entries_per_member=50,
    products=2000,
    read_requests=500,
    write_requests=250,
    preview_requests=250,
    scaling_read_requests=300,
    scaling_write_requests=120,
    warmup=200,
    rounds=8,
    import_shares=(0.1, 0.5, 1.0),
    data_scales=(1, 5, 20),
)
QUICK = Plan(
    members=1000,
    entries_per_member=50,
    products=2000,
    read_requests=150,
    write_requests=50,
    preview_requests=60,
    scaling_read_requests=60,
    scaling_write_requests=20,
    warmup=20,
    rounds=2,
    import_shares=(0.02, 0.05, 0.1),
    data_scales=(0.05, 0.1, 0.2),
)


@dataclass
class Bench:
    """One backend's seeded database and what the benchmarks on it share."""

    backend: str
    settings: Settings
    seeded: Seeded
    plan: Plan
    logs: Path
    numbering: Numbering = field(default_factory=Numbering)
    rng: random.Random = field(default_factory=lambda: random.Random(11))

    def member_headers(self) -> list[dict[str, str]]:
        """A bearer member token per seeded member, in a shuffled order."""
        ids = list(self.seeded.member_ids)
        self.rng.shuffle(ids)
        return [
            {"Authorization": f"Bearer {tokens.issue(member_id, self.settings)[0]}"}
            for member_id in ids
        ]

    def staff_headers(self) -> dict[str, str]:
        """The storefront key, as a checkout backend sends it."""
        return {"Authorization": f"Bearer {self.settings.storefront_key.value}"}

    def log(self, name: str) -> Path:
        return self.logs / f"{self.backend}-{name}.log"
