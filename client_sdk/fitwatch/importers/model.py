"""What every importer produces: one run's series, ready to upload."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ImportedSeries:
    """One series: the i-th step, value and wall time go together; steps are unique."""

    key: str
    scope: str
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def add(self, step: int, value: float, time: float) -> None:
        self.steps.append(step)
        self.values.append(value)
        self.times.append(time)

    def deduplicated(self) -> ImportedSeries:
        """Sorted by step, each step once; the later of two writes of a step wins (as on the
        server, and as in a TensorBoard directory written again after a restart)."""
        latest: dict[int, tuple[float, float]] = {}
        for step, value, time in zip(self.steps, self.values, self.times, strict=True):
            latest[step] = (value, time)
        steps = sorted(latest)
        return ImportedSeries(
            self.key,
            self.scope,
            steps,
            [latest[s][0] for s in steps],
            [latest[s][1] for s in steps],
        )


@dataclass
class ImportedRun:
    """A run read from files: its name, where it came from, and its series."""

    name: str
    kind: str  # "csv", "history" or "tensorboard"
    source: Path
    series: list[ImportedSeries]
    config: dict[str, Any] = field(default_factory=dict)
    # The n-th fit in one file (a CSVLogger file appended to by several fits); 1 for the first.
    part: int = 1

    @property
    def points(self) -> int:
        return sum(len(s.steps) for s in self.series)
