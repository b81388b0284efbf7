"""Result rows, the one-line print per figure, and the markdown table."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """``value >= bound`` (kind "min") or ``value <= bound`` (kind "max")."""

    kind: str
    bound: float
    text: str

    def met(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return value >= self.bound if self.kind == "min" else value <= self.bound


def at_least(bound: float, text: str) -> Target:
    return Target("min", bound, text)


def at_most(bound: float, text: str) -> Target:
    return Target("max", bound, text)


@dataclass
class Row:
    """One reported figure."""

    case: str
    backend: str
    figure: str
    value: float
    unit: str
    targets: list[tuple[Target, float]] = field(default_factory=list)
    ceiling: str = ""  # name of the ceiling the ratio is taken against
    ratio: float | None = None
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool | None:
        if not self.targets:
            return None
        return all(target.met(value) for target, value in self.targets)

    def target_text(self) -> str:
        return ", ".join(target.text for target, _ in self.targets) or "—"

    def verdict(self) -> str:
        return {None: "—", True: "pass", False: "**FAIL**"}[self.passed]

    def ratio_text(self) -> str:
        if self.ratio is None:
            return "—"
        return f"{self.ratio:.2f} x {self.ceiling}"

    def line(self) -> str:
        parts = [f"[{self.case}/{self.backend}] {self.figure}: {fmt(self.value)} {self.unit}"]
        if self.note:
            parts.append(f"({self.note})")
        if self.targets:
            parts.append(f"target {self.target_text()}: {self.verdict().strip('*')}")
        if self.ratio is not None:
            parts.append(f"ratio {self.ratio_text()}")
        return "  ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["targets"] = [{"target": t.text, "value": v, "met": t.met(v)} for t, v in self.targets]
        data["passed"] = self.passed
        return data


def fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: list[Row]) -> str:
    """Markdown table: case, backend, figure, target, ratio to ceiling, pass/fail."""
    lines = [
        "| case | backend | figure | value | target | ratio to ceiling | result |",
        "|---|---|---|---:|---|---|---|",
    ]
    for r in rows:
        value = f"{fmt(r.value)} {r.unit}"
        if r.note:
            value += f" ({r.note})"
        lines.append(
            f"| {r.case} | {r.backend} | {r.figure} | {value} | {r.target_text()} "
            f"| {r.ratio_text()} | {r.verdict()} |"
        )
    return "\n".join(lines)
