"""Read a JSON dump of `History.history` (`json.dump(model.fit(...).history, f)`).

`{key: [value per epoch]}`; Python's `json.dump` writes a NaN loss as the bare token `NaN`,
which is accepted here. A file of `{"history": {...}, "epoch": [...], "params": {...}}`
(History's attributes) works too, and its `epoch` list gives the steps.

With `validation_freq=N` the `val_` lists are shorter than the others (one value per
validated epoch; tests/client_sdk/importers pin it on a real fit): pass `validation_freq` and they land on the epochs that
validated (N-1, 2N-1, ...); without it a short list is refused rather than misplaced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fitwatch.importers.model import ImportedRun, ImportedSeries


def _load(source: Path) -> Any:
    try:
        return json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {source}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source} is not JSON: {exc}") from None


def _as_float(raw: Any, *, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"{where}: a value must be a number. Received: {raw!r}")
    return float(raw)


def read_history(path: str | Path, *, validation_freq: int | None = None) -> ImportedRun:
    """The run in a dumped History; raises `ValueError` saying what is wrong."""
    source = Path(path)
    if validation_freq is not None and validation_freq < 1:
        raise ValueError(
            f"validation_freq must be an int >= 1. Received: validation_freq={validation_freq!r}"
        )
    body = _load(source)
    params: dict[str, Any] = {}
    epochs: list[int] | None = None
    if isinstance(body, dict) and isinstance(body.get("history"), dict):
        raw_params = body.get("params")
        params = raw_params if isinstance(raw_params, dict) else {}
        if isinstance(body.get("epoch"), list):
            epochs = [int(e) for e in body["epoch"]]
        body = body["history"]
    if (
        not isinstance(body, dict)
        or not body
        or not all(isinstance(v, list) for v in body.values())
    ):
        raise ValueError(
            f"{source} is not a dumped History.history: expected {{key: [value per epoch], ...}}. "
            f"Received a {type(body).__name__}"
        )
    longest = max(len(v) for v in body.values())
    if longest == 0:
        raise ValueError(f"{source} holds no epoch: every list is empty")
    steps_all = epochs if epochs is not None and len(epochs) == longest else list(range(longest))
    wall_time = source.stat().st_mtime
    series: list[ImportedSeries] = []
    for key, values in body.items():
        if len(values) == longest:
            steps = steps_all
        elif validation_freq is not None:
            steps = [s for s in steps_all if (s + 1) % validation_freq == 0][: len(values)]
            if len(steps) != len(values):
                raise ValueError(
                    f"{source}: {key!r} has {len(values)} values, more than the epochs that "
                    f"validate with validation_freq={validation_freq}"
                )
        else:
            raise ValueError(
                f"{source}: {key!r} has {len(values)} values for {longest} epochs (fit with "
                "validation_freq > 1?): pass --validation-freq N so they land on the right epochs"
            )
        imported = ImportedSeries(str(key), "epoch")
        for step, raw in zip(steps, values, strict=True):
            imported.add(step, _as_float(raw, where=f"{source}: {key}[{step}]"), wall_time)
        series.append(imported.deduplicated())
    config = {"params": params} if params else {}
    return ImportedRun(
        name=source.stem, kind="history", source=source, series=series, config=config
    )
