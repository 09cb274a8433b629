"""Grouping runs for bands: `group_by` parsed, and each run put in the group of its values.

`group_by` is a comma-separated list of run fields: `config.<path>` (a dotted path into the
config, `[i]` for list items), `summary.<path>`, `tags` (the whole set of tags), `name`,
`status`, `project`. Prefixed with `-`, fields are left out instead: `-config.seed` groups
by the whole config except the seed, which is how runs that differ only by their seed
become one group. That form ignores what always differs between runs and says nothing
about the training (the environment, the names Keras generates for optimizers, models and
layers, the per-epoch learning rates, the optimizer's starting iteration).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from fitwatch_server import models
from fitwatch_server.errors import InvalidInput
from fitwatch_server.store import metric_manifest, point_data

MAX_FIELDS = 20
_PLAIN_FIELDS = ("tags", "name", "status", "project")
_PATH = re.compile(r"^[^\s,]+$")
# Config paths that differ between runs of the same setup (see the module docstring). Keras
# names each new optimizer, model and layer after the last (`sgd`, `sgd_1`...), so every
# `name` the callback captured from those objects differs between fits in one process.
ALWAYS_DIFFERENT = re.compile(
    r"^(environment([.\[]|$)|learning_rate_per_epoch([.\[]|$)|fits\[\d+\]\.initial_iterations$"
    r"|(optimizer|model|loss|compile)([.\[].*)?\.name$|model\.name$)"
)
NOT_SET = "(not set)"


@dataclass(frozen=True, slots=True)
class GroupBy:
    fields: tuple[str, ...]  # the fields to group by, or to leave out when `exclude`
    exclude: bool

    @property
    def text(self) -> list[str]:
        return [("-" if self.exclude else "") + f for f in self.fields]


@dataclass(slots=True)
class RunGroup:
    label: str
    values: dict[str, Any]  # field -> value (the fields that tell the groups apart)
    run_ids: list[str]


def parse_group_by(text: str) -> GroupBy:
    """`group_by` as fields; raises InvalidInput quoting what is wrong."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if len(items) > MAX_FIELDS:
        raise InvalidInput(f"group_by takes at most {MAX_FIELDS} fields; received {len(items)}")
    excluded = [item.startswith("-") for item in items]
    if any(excluded) and not all(excluded):
        raise InvalidInput(
            "group_by either names the fields to group by (config.lr,config.optimizer) or, "
            f"each with '-', the config fields to leave out (-config.seed); received {text!r}"
        )
    exclude = bool(items) and all(excluded)
    fields = tuple(item.removeprefix("-") for item in items)
    for field in fields:
        root, _, path = field.partition(".")
        if exclude and root != "config":
            raise InvalidInput(
                f"only config fields can be left out (-config.seed); received {'-' + field!r}"
            )
        if root in ("config", "summary"):
            if not path or not _PATH.match(path):
                raise InvalidInput(
                    f"name a key inside {root}, e.g. {root}.seed; received {field!r}"
                )
        elif field not in _PLAIN_FIELDS:
            raise InvalidInput(
                f"unknown group_by field {field!r}; use config.<key>, summary.<key>, tags, name, "
                "status or project (or -config.<key> to group by everything else)"
            )
    return GroupBy(fields=fields, exclude=exclude)


def flatten(value: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested config as `{"a.b": v, "a.c[0].d": v}`; lists of plain values stay whole."""
    found: dict[str, Any] = {} if out is None else out
    if isinstance(value, dict):
        if not value and prefix:
            found[prefix] = {}
        for k, v in value.items():
            flatten(v, f"{prefix}.{k}" if prefix else str(k), found)
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for i, v in enumerate(value):
            flatten(v, f"{prefix}[{i}]", found)
    else:
        found[prefix] = value
    return found


def _lookup(run: models.Run, field: str) -> Any:
    root, _, path = field.partition(".")
    if root in ("config", "summary"):
        flat = flatten(getattr(run, root) or {})
        return flat.get(path, NOT_SET)
    if root == "tags":
        return sorted(t.tag for t in run.tags)
    if root == "project":
        return run.project.name
    return getattr(run, root)


def _identity(run: models.Run, group_by: GroupBy) -> dict[str, Any]:
    if not group_by.fields:
        return {}
    if not group_by.exclude:
        return {field: _lookup(run, field) for field in group_by.fields}
    left_out = {f.partition(".")[2] for f in group_by.fields}
    flat = flatten(run.config or {})
    return {
        f"config.{path}": value
        for path, value in sorted(flat.items())
        if not ALWAYS_DIFFERENT.match(path)
        and not any(path == o or path.startswith((o + ".", o + "[")) for o in left_out)
    }


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value) if value else "(none)"
    return json.dumps(value, sort_keys=True)


def _order(value: Any) -> tuple[int, float, str]:
    """Groups sort by their values: numbers as numbers, then text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return (1, 0.0, _show(value))
    return (0, float(value), "")


def group_runs(runs: list[models.Run], group_by: GroupBy) -> list[RunGroup]:
    """The runs in groups of equal values, labelled by the fields whose values tell them apart."""
    identities = [_identity(run, group_by) for run in runs]
    groups: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for run, identity in zip(runs, identities, strict=True):
        key = json.dumps(identity, sort_keys=True, default=str)
        groups.setdefault(key, (identity, []))[1].append(run.id)
    # A field the same in every group (most of the config when leaving out the seed) says
    # nothing: the label and `values` keep only the fields that differ between groups.
    fields = sorted({f for identity, _ in groups.values() for f in identity})
    differing = [
        f
        for f in fields
        if len(
            {
                json.dumps(identity.get(f, NOT_SET), sort_keys=True, default=str)
                for identity, _ in groups.values()
            }
        )
        > 1
    ]
    if not group_by.exclude:
        differing = [f for f in group_by.fields if f in differing] or list(group_by.fields)
    found = []
    for identity, run_ids in groups.values():
        values = {f: identity.get(f, NOT_SET) for f in differing}
        label = ", ".join(f"{f}={_show(v)}" for f, v in values.items()) or "all runs"
        found.append(RunGroup(label=label, values=values, run_ids=run_ids))
    found.sort(key=lambda g: [_order(g.values[f]) for f in differing])
    seen: set[str] = set()
    for group in found:  # "x=1" (a number) and "x=1" (text) are two groups: keep labels apart
        while group.label in seen:
            group.label += " ′"
        seen.add(group.label)
    return found


def keys_by_metric(session: Session, *, runs: list[models.Run]) -> dict[str, dict[str, str]]:
    """Run id -> {each key the run logged: its aligned name} (`acc` and `accuracy` -> the
    canonical metric both computed, from the run's manifest, else the catalog), so that
    `group_stats(run_keys=...)` reads every run's spelling under the one name."""
    series = point_data.series_by_run(session, run_ids=[run.id for run in runs])
    return {
        run.id: metric_manifest.aligned_keys(run, sorted({s.key for s in series[run.id]}))
        for run in runs
    }
