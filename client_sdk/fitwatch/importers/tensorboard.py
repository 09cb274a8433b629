"""Read TensorBoard event directories with TensorBoard's own reader (the `import` extra).

One run per run directory. Keras's `TensorBoard` callback writes a run as `train/` and
`validation/` subdirectories; their scalar tags map to the names `History` uses:

    train/epoch_<key>                            -> <key>      (epoch scope)
    train/batch_<key>                            -> <key>      (batch scope)
    validation/epoch_<key>                       -> val_<key>  (epoch scope)
    validation/evaluation_<key>_vs_iterations    -> val_<key>  (eval scope, step = iterations)

`epoch_learning_rate` (which the callback writes every epoch) becomes `learning_rate`. Any
other scalar tag keeps its name (with `val_` in front under `validation/`) in the epoch
scope, and a directory of event files that is not `train/` or `validation/` is a run of its
own with its tags as they are. Steps and wall times are kept as written; note that Keras's
TensorBoard counts batches from 1 (fitwatch's own callback from 0). Tensors that are not
scalars (histograms, images, the model graph) are skipped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from fitwatch.importers.model import ImportedRun, ImportedSeries

EXTRA_MISSING = (
    "reading TensorBoard files needs the tensorboard package: pip install 'fitwatch[import]'"
)
ROLES = ("train", "validation")
_EVALUATION = re.compile(r"^evaluation_(.+)_vs_iterations$")


def _is_event_file(path: Path) -> bool:
    return path.is_file() and "tfevents" in path.name


def find_run_directories(logdir: Path) -> dict[Path, list[tuple[str | None, Path]]]:
    """run directory -> [(role, directory with event files)]; role is train, validation or None."""
    runs: dict[Path, list[tuple[str | None, Path]]] = defaultdict(list)
    candidates = [logdir, *sorted(p for p in logdir.rglob("*") if p.is_dir())]
    for directory in candidates:
        if not any(_is_event_file(p) for p in directory.iterdir()):
            continue
        if directory.name in ROLES and directory != logdir:
            runs[directory.parent].append((directory.name, directory))
        else:
            runs[directory].append((None, directory))
    return dict(runs)


def name_series(role: str | None, tag: str) -> tuple[str, str]:
    """(key, scope) of a scalar tag written under `role` (see the module docstring)."""
    if role is None:
        return tag, "epoch"
    prefix = "val_" if role == "validation" else ""
    if tag.startswith("epoch_"):
        return prefix + tag[len("epoch_") :], "epoch"
    if role == "train" and tag.startswith("batch_"):
        return tag[len("batch_") :], "batch"
    match = _EVALUATION.match(tag)
    if role == "validation" and match:
        return prefix + match.group(1), "eval"
    return prefix + tag, "epoch"


def _scalars(directory: Path) -> dict[str, list[tuple[int, float, float]]]:
    """tag -> [(step, value, wall_time)] of every scalar in the directory's event files."""
    try:
        from tensorboard.backend.event_processing import event_accumulator as ea
        from tensorboard.util import tensor_util
    except ImportError:
        raise ValueError(EXTRA_MISSING) from None
    accumulator = ea.EventAccumulator(str(directory), size_guidance={ea.TENSORS: 0, ea.SCALARS: 0})
    accumulator.Reload()
    tags: dict[str, Any] = accumulator.Tags()
    found: dict[str, list[tuple[int, float, float]]] = {}
    for tag in tags.get("scalars", []):  # summaries written by TF 1 style writers
        found[tag] = [(e.step, float(e.value), e.wall_time) for e in accumulator.Scalars(tag)]
    for tag in tags.get("tensors", []):  # tf.summary.scalar in TF 2 (Keras 3) writes tensors
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            continue
        rows = []
        for event in accumulator.Tensors(tag):
            array = tensor_util.make_ndarray(event.tensor_proto)
            if array.size != 1:
                break
            rows.append((event.step, float(array.reshape(()).item()), event.wall_time))
        else:
            found[tag] = rows
    return found


def read_run(run_dir: Path, parts: list[tuple[str | None, Path]], *, name: str) -> ImportedRun:
    series: dict[tuple[str, str], ImportedSeries] = {}
    for role, directory in parts:
        for tag, rows in _scalars(directory).items():
            key, scope = name_series(role, tag)
            target = series.setdefault((key, scope), ImportedSeries(key, scope))
            for step, value, wall_time in rows:
                target.add(step, value, wall_time)
    kept = [s.deduplicated() for s in series.values() if s.steps]
    return ImportedRun(name=name, kind="tensorboard", source=run_dir, series=kept)


def read_logdir(logdir: str | Path) -> list[ImportedRun]:
    """Every run under `logdir` (which may itself be one run); raises `ValueError` if none."""
    root = Path(logdir)
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory: give the log_dir of the TensorBoard callback")
    runs = []
    for run_dir, parts in sorted(find_run_directories(root).items()):
        name = root.resolve().name if run_dir == root else run_dir.relative_to(root).as_posix()
        run = read_run(run_dir, parts, name=name)
        if run.series:
            runs.append(run)
    if not runs:
        raise ValueError(
            f"no scalar summaries found under {root} (looked for files named *tfevents*)"
        )
    return runs
