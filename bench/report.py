"""Result tables: printed aligned on the console and written as markdown."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Table:
    """One benchmark's result: a title, columns, rows of text, and notes under it."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        """Append a row; numbers are formatted by ``cell``."""
        self.rows.append([cell(c) for c in cells])

    def text(self) -> str:
        """The table for a terminal."""
        widths = [
            max(len(row[i]) for row in [self.columns, *self.rows]) for i in range(len(self.columns))
        ]

        def line(row: list[str]) -> str:
            first, *rest = row
            parts = [first.ljust(widths[0])]
            parts += [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
            return "  ".join(parts).rstrip()

        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
        out = [self.title, rule, line(self.columns), rule, *map(line, self.rows), rule]
        return "\n".join(out + [f"  {n}" for n in self.notes])

    def markdown(self) -> str:
        """The table for bench/results.md."""
        out = [f"### {self.title}", ""]
        out.append("| " + " | ".join(self.columns) + " |")
        out.append("|" + "|".join(["---"] + ["---:"] * (len(self.columns) - 1)) + "|")
        out += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            out.append("")
            out += [f"- {n}" for n in self.notes]
        return "\n".join(out)


def cell(value: object) -> str:
    """Numbers with a precision that suits their size; everything else as text."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def verdict(
    name: str, value: float, *, at_most: float | None = None, at_least: float | None = None
) -> str:
    """A line saying whether a target is met (printed, never asserted)."""
    if at_most is not None:
        met, goal = value <= at_most, f"<= {at_most:g}"
    elif at_least is not None:
        met, goal = value >= at_least, f">= {at_least:g}"
    else:
        raise ValueError("give at_most or at_least")
    return f"target {name} {goal}: {'MET' if met else 'NOT MET'} ({value:.2f})"


def median(values: list[float]) -> float:
    """The median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")
