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

A run directory used by several fits (`TensorBoard("logs")` in a script run twice) holds one
set of event files per fit, each counting epochs from 0: a `train/` file whose epochs start
at 0 after earlier ones begins the next fit, and each fit is a run of its own (a file that
continues at epoch k > 0, a fit resumed by `BackupAndRestore`, stays in its run). A
`validation/` file belongs to the fit whose train file logged the same epoch at the nearest
wall time (Keras writes both at the epoch's end).
"""

from __future__ import annotations

import math
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
    """tag -> [(step, value, wall_time)] of every scalar in an event file (or a directory's)."""
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


Scalars = dict[str, list[tuple[int, float, float]]]


def _epoch_rows(scalars: Scalars) -> list[tuple[int, float]]:
    """(epoch, wall_time) of the `epoch_*` scalars of one event file."""
    return [
        (step, wall_time)
        for tag, rows in scalars.items()
        if tag.startswith("epoch_")
        for step, _value, wall_time in rows
    ]


def _event_files(directory: Path) -> list[Path]:
    # events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2 (the host may hold dots): in the
    # order they were started; files of one second by pid and the process's file counter.
    def started(path: Path) -> tuple[int, int, int, str]:
        parts = path.name.split(".")

        def number(index: int) -> int:
            return int(parts[index]) if len(parts) > 6 and parts[index].isascii() and parts[index].isdigit() else 0

        return (number(3), number(-3), number(-2), path.name)

    return sorted((p for p in directory.iterdir() if _is_event_file(p)), key=started)


def _fits(parts: list[tuple[str | None, Path]]) -> list[list[tuple[str | None, Scalars]]]:
    """The event files of one run directory, grouped by fit (see the module docstring)."""
    train = [f for role, d in parts if role == "train" for f in _event_files(d)]
    if not train:
        return [[(role, _scalars(d)) for role, d in parts]]
    fits: list[list[tuple[str | None, Scalars]]] = []
    fit_epochs: list[list[tuple[int, float]]] = []
    for path in train:
        scalars = _scalars(path)
        epochs = _epoch_rows(scalars)
        if not fits or (epochs and min(e for e, _ in epochs) == 0 and fit_epochs[-1]):
            fits.append([])
            fit_epochs.append([])
        fits[-1].append(("train", scalars))
        fit_epochs[-1].extend(epochs)
    for role, directory in parts:
        if role == "train":
            continue
        for path in _event_files(directory):
            scalars = _scalars(path)
            fits[_fit_of(_epoch_rows(scalars), fit_epochs)].append((role, scalars))
    return fits


def _fit_of(epochs: list[tuple[int, float]], fit_epochs: list[list[tuple[int, float]]]) -> int:
    """The fit whose train file logged the file's first epoch at the nearest wall time (the
    last fit for a file without epochs)."""
    if not epochs or len(fit_epochs) == 1:
        return len(fit_epochs) - 1
    epoch, wall_time = min(epochs)
    distances = [
        min((abs(t - wall_time) for e, t in rows if e == epoch), default=math.inf)
        for rows in fit_epochs
    ]
    return distances.index(min(distances))


def read_run(
    run_dir: Path, parts: list[tuple[str | None, Path]], *, name: str
) -> list[ImportedRun]:
    """One run per fit that wrote into `run_dir` (usually one)."""
    runs = []
    for part, fit in enumerate(_fits(parts), start=1):
        series: dict[tuple[str, str], ImportedSeries] = {}
        for role, scalars in fit:
            for tag, rows in scalars.items():
                key, scope = name_series(role, tag)
                target = series.setdefault((key, scope), ImportedSeries(key, scope))
                for step, value, wall_time in rows:
                    target.add(step, value, wall_time)
        kept = [s.deduplicated() for s in series.values() if s.steps]
        shown = name if part == 1 else f"{name} (fit {part})"
        runs.append(
            ImportedRun(name=shown, kind="tensorboard", source=run_dir, series=kept, part=part)
        )
    return runs


def read_logdir(logdir: str | Path) -> list[ImportedRun]:
    """Every run under `logdir` (which may itself be one run); raises `ValueError` if none."""
    root = Path(logdir)
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory: give the log_dir of the TensorBoard callback")
    runs: list[ImportedRun] = []
    for run_dir, parts in sorted(find_run_directories(root).items()):
        name = root.resolve().name if run_dir == root else run_dir.relative_to(root).as_posix()
        runs.extend(run for run in read_run(run_dir, parts, name=name) if run.series)
    if not runs:
        raise ValueError(
            f"no scalar summaries found under {root} (looked for files named *tfevents*)"
        )
    return runs
