"""The Keras callback: `FitWatchCallback` streams every key of `fit()`/`evaluate()` logs.

Imported on its own (`fitwatch.keras`), so `import fitwatch` never imports Keras. The
callback runs on the training thread (TensorFlow's Keras never dispatches hooks
asynchronously), so every hook only copies the logs into points and appends them to the
run's in-memory queue; the sender thread does everything else (issue 3).
"""

from __future__ import annotations

import math
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from types import FrameType
from typing import Any

try:
    import keras
except ImportError as exc:  # Keras itself, or the backend it loads at import (TensorFlow by default)
    raise ImportError(
        f"fitwatch.keras needs Keras 3 and a backend for it, and importing keras failed: {exc}. "
        "Install them with: pip install 'fitwatch[keras]' tensorflow "
        "(or jax or torch, chosen with KERAS_BACKEND=jax|torch)"
    ) from exc
import numpy as np  # Keras's own dependency

from fitwatch import limits
from fitwatch.access import check_access
from fitwatch.codec import json_safe
from fitwatch.environment import capture_environment
from fitwatch.keras_introspection import (
    as_typed,
    find_fit_frame,
    fit_arguments,
    flat_metrics,
    model_config,
)
from fitwatch.keras_manifest import metric_manifest
from fitwatch.metrics import catalog
from fitwatch.names import memorable_name
from fitwatch.resume import check_resume_mode, find_run
from fitwatch.run import Run, RunState, init
from fitwatch.scopes import Scope
from fitwatch.settings import ClientSettings, Mode
from fitwatch.wire import Point

LEARNING_RATE_KEY = "fitwatch/learning_rate"
LR_CHUNK_STEPS = 64
"""Logged batches whose schedule rates are computed in one call (see `_schedule_rates`): the
batch-scope `fitwatch/learning_rate` arrives at most this many logged batches late, and at
each epoch's end."""
"""Key of the learning-rate series we record at each epoch's start. Keras's own callbacks
(`LearningRateScheduler`, `ReduceLROnPlateau`) put `learning_rate` into the logs, and a
`/` can never come out of Keras's metric naming, so the two never collide."""


def _learning_rate_schedule(model: Any) -> Any:
    """The optimizer's `LearningRateSchedule`, or None for a rate that is a plain variable
    (constant, or set per epoch by `LearningRateScheduler`: the epoch series covers it, and a
    variable read each batch would cost ~1-2 % of a step). Keras 3 keeps the schedule in
    `optimizer._learning_rate`; `optimizer.learning_rate` is its value at the current step."""
    schedule = getattr(getattr(model, "optimizer", None), "_learning_rate", None)
    schedules = keras.optimizers.schedules.LearningRateSchedule
    return schedule if isinstance(schedule, schedules) else None


def _schedule_rates(schedule: Any, iterations: list[int]) -> list[float]:
    """The schedule's rate at each iteration. One call on an array of iterations costs about
    what a call on one step does (150-300 µs of CPU measured here; a step of a small model
    takes ~700 µs), so rates are computed for a chunk of steps at once. A schedule written for
    one step at a time (CosineDecay with warmup branches with a Cond) is called per step."""
    try:
        values = keras.ops.convert_to_numpy(schedule(np.asarray(iterations, dtype=np.int64)))
        found = np.asarray(values, dtype=np.float64).reshape(-1)
        if found.shape == (len(iterations),):
            return [float(v) for v in found]
    except Exception:  # noqa: BLE001, S110 - not elementwise: the per-step calls below
        pass
    return [float(keras.ops.convert_to_numpy(schedule(i))) for i in iterations]


def _parse_update_freq(update_freq: Any) -> int | None:
    if update_freq == "epoch":
        return None
    if update_freq == "batch":
        return 1
    if isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq > 0:
        return update_freq
    raise ValueError(
        "update_freq must be 'batch', 'epoch' or a positive int. "
        f"Received: update_freq={update_freq!r}"
    )


class FitWatchCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Streams `fit()` and `evaluate()` metrics to a fitwatch server.

    Every key Keras logs is stored under the exact name Keras gives it (`acc`,
    `cls_accuracy`, `mae_1`, `val_loss`...), in these scopes:

    - `epoch`: `on_epoch_end` logs, step = epoch index (0-based), `val_` keys included.
      These equal `History.history`.
    - `batch`: `on_train_batch_end` logs, step = the optimizer's iteration count minus
      one (the global 0-based index of the last step in that batch; with
      `steps_per_execution` Keras's own batch index can pass `steps - 1`, this cannot).
      Keras logs **running means since the epoch began**, not the batch's own value.
    - `batch_derived`: for mean-type metrics (loss, accuracies, error means...), the
      batch's own value recovered from consecutive running means,
      `x_b = (n_b*m_b - n_(b-1)*m_(b-1)) / (n_b - n_(b-1))` with `n` the steps so far in
      the epoch. **Exact only when every batch has the same weight** (the last, smaller
      batch of an epoch is off, and so are sample-weighted data); never shown as Keras's.
    - `eval`: `model.evaluate()` results (callback passed to `evaluate`), step = ordinal.
    - `fitwatch/learning_rate` (epoch scope): the optimizer's learning rate at each
      epoch's start (schedules included). With a `LearningRateSchedule` (the rate changes
      every step, as in a learning-rate range test) also in the batch scope, at every
      batch logged: the rate that step trained with.

    The run's config records `self.params`, the `fit()` arguments (batch size included,
    Keras's default 32 when not given), optimizer class and config, loss, compiled metric
    names, a model summary and the environment. The summary records the last epoch,
    whether training stopped early (`EarlyStopping`, `TerminateOnNaN`) and at which epoch.

    Hooks never raise and never wait on the network: a problem is warned once. If
    `fit()` ends by an exception raised in a callback (`TerminateOnNaN(raise_error=True)`)
    Keras calls no end hook; a watchdog on the sender thread notices that `fit()` left
    the stack and marks the run `failed`.

    Args:
        run: a `fitwatch.Run` to log into; the callback then never finishes it. Default:
            the callback starts its own run at the first `fit()` (with the arguments
            below) and finishes it at the end of each `fit()` (a later `fit()` resumes it).
        project: project of the run the callback starts (default `"default"`, or the
            resumed run's own project).
        run_id: the id of the run the callback starts; with `resume`, a run to continue
            (a fit resumed by `BackupAndRestore` or with `initial_epoch`).
        resume: `"allow"` (default), `"must"` (the constructor raises `ValueError` for an
            unknown `run_id`) or `"never"`; see `fitwatch.init()`. A resumed run is
            `running` again, and its epochs and batches continue where Keras's counts say
            (`initial_epoch`, the restored optimizer's iterations), without overwriting; a
            fit that starts at epoch 0 in a run holding epochs continues after them.
        name: name of that run; default: the optimizer and learning rate and a number
            (`adam-lr1e-3-7`).
        config: extra config for that run (hyperparameters).
        tags: tags of that run.
        url: the server, default `FITWATCH_URL`, else `http://127.0.0.1:8000`.
        token: the API token, default `FITWATCH_TOKEN`. When the callback starts its own
            run, the constructor asks the server what the token may do, and raises
            `ValueError` for a refused, read-only or other-project token.
        mode: `"online"` or `"offline"` (journal only, upload with `fitwatch sync`).
        update_freq: `"epoch"` (default), `"batch"`, or an int N: log batch points every
            N steps (N=1 is `"batch"`), like `keras.callbacks.TensorBoard`.
        log_derived: also log `batch_derived` values when logging batches.
        batch_size: the batch size to record, when `fit()` cannot tell (datasets).
        **settings: `fitwatch.init()` settings (`journal_dir`, `flush_interval_s`...).

    Example:

    ```python
    model.fit(x, y, epochs=10, validation_split=0.2, callbacks=[
        fitwatch.keras.FitWatchCallback(project="digits", update_freq="batch"),
    ])
    ```
    """

    def __init__(
        self,
        run: Run | None = None,
        *,
        project: str | None = None,
        run_id: str | None = None,
        resume: str | None = None,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        tags: tuple[str, ...] | list[str] = (),
        url: str | None = None,
        token: str | None = None,
        mode: str | None = None,
        update_freq: str | int = "epoch",
        log_derived: bool = True,
        batch_size: int | None = None,
        **settings: Any,
    ) -> None:
        super().__init__()
        self._every = _parse_update_freq(update_freq)
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(
                f"batch_size must be a positive int or None. Received: batch_size={batch_size!r}"
            )
        if run is not None and not isinstance(run, Run):
            raise ValueError(f"run must be a fitwatch.Run or None. Received: run={run!r}")
        # Validate the connection settings now, where a ValueError is still welcome; the
        # token too, when this callback will start its own run (not only at the first fit()).
        client_settings = ClientSettings.load(
            url=url, mode=mode, journal_dir=settings.get("journal_dir"), token=token
        )
        resume_mode = check_resume_mode(resume)
        if run is not None and (run_id is not None or resume is not None):
            raise ValueError(
                f"run_id and resume are for the run the callback starts; pass them to "
                f"fitwatch.init() for your own run. Received: run_id={run_id!r}, resume={resume!r}"
            )
        if run is None:
            if resume_mode == "must" and run_id is None:
                raise ValueError("resume='must' needs the run_id of the run to resume. Received: run_id=None")
            # The run's fields by the server's rules, as init() checks them at the first fit():
            # there a refusal would only switch the callback off with a warning.
            if project is not None:
                limits.check_name(project, "project")
            if name is not None:
                limits.check_name(name, "name")
            limits.check_tags(tags)
            if run_id is not None:
                limits.check_run_id(run_id)
            # Ask now, where a ValueError is welcome: an unknown id with resume="must", or a
            # taken one with resume="never", must not wait for the first fit().
            found = find_run(client_settings, run_id=run_id, resume=resume_mode) if run_id else None
            if found is not None and project is not None and found["project"] != project:
                raise ValueError(
                    f"run {run_id!r} belongs to project {found['project']!r}. Received: project={project!r}"
                )
            checked = check_access(
                client_settings, project=found["project"] if found else (project or "default")
            )
            limits.check_document(
                {} if config is None else config,
                field="config",
                max_depth=checked.max_document_depth,
                max_bytes=checked.max_document_bytes,
            )
        self.run = run
        self._owns_run = run is None
        self._init_args: dict[str, Any] = dict(
            project=project, name=name, config=dict(config or {}), tags=list(tags),
            url=url, mode=mode, token=token, id=run_id, resume=resume, **settings,
        )
        self.update_freq = update_freq
        self.log_derived = log_derived
        self.batch_size = batch_size
        self._disabled = False
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._fit_frame: FrameType | None = None
        self._fit_thread: int | None = None
        self._in_fit = False
        self._fits: list[dict[str, Any]] = []
        self._learning_rates: dict[int, float] = {}
        # The optimizer's LearningRateSchedule (set per fit), whose rate changes every step,
        # and the logged batches whose rate is not computed yet: (step, iteration, time, epoch).
        self._lr_schedule: Any = None
        self._lr_pending: list[tuple[int, int, float, int | None]] = []
        self._mean_keys: set[str] | None = None
        self._reported_keys = False
        self._manifest_keys: set[str] = set()
        self._epoch = 0
        self._last_epoch: int | None = None
        self._last_epoch_logs: dict[str, float] = {}
        self._epoch_values: dict[str, dict[int, float]] = {}
        self._epoch_start_iterations = 0
        self._prev_count = 0
        self._first_epoch_of_fit = True
        self._iteration_offset = 0
        self._fit_first_epoch = 0
        # A fit whose epochs start at 0 in a run that holds epochs already (a second fit(),
        # a script run again with the same run_id) continues after them: stored epoch =
        # Keras's epoch + offset, so nothing stored is overwritten. Fits that start at k > 0
        # (initial_epoch, BackupAndRestore) carry their own numbers: offset 0.
        self._epoch_offset = 0
        self._next_batch_step = 0  # after the batch steps this callback logged
        self._seeded_best = False
        self._fit_start_iterations = 0
        self._steps_per_epoch: int | None = None
        self._prev_means: dict[str, float] = {}
        self._last_batch_logs: dict[str, float] = {}
        self._ticking = False

    # -- plumbing --------------------------------------------------------------------
    def _warn(self, cause: str, exc: BaseException | str) -> None:
        if cause not in self._warned:
            self._warned.add(cause)
            warnings.warn(f"fitwatch: {cause}: {exc!r}", RuntimeWarning, stacklevel=3)

    def _ensure_run(self, status: str | None = "running") -> Run | None:
        if self._disabled:
            return None
        if self.run is None:
            try:
                args = dict(self._init_args)
                if args["name"] is None:
                    args["name"] = self._default_name()
                self.run = init(**args)
            except Exception as exc:  # noqa: BLE001 - never stop training for us
                self._disabled = True
                self._warn("cannot start the run; fitwatch is off for this callback", exc)
                return None
        elif self.run.state is not RunState.running:
            self.run.reopen(status=status)
        if not self._ticking:
            self.run.add_tick(self._watch_fit)
            self._ticking = True
        return self.run

    def _default_name(self) -> str:
        """`adam-lr1e-3-7`: the optimizer and its learning rate, told apart by a number."""
        try:
            optimizer = self.model.optimizer
            lr = as_typed(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))
            return memorable_name(optimizer=type(optimizer).__name__, learning_rate=lr)
        except Exception:  # noqa: BLE001 - a schedule or an exotic optimizer: a plain name
            return memorable_name()

    def _announce(self, run: Run) -> None:
        # One line where the user is looking (beside Keras's progress bar), once per run.
        if run.settings.mode is Mode.offline:
            where = f"recorded offline in {run.journal.directory} (upload it with `fitwatch sync`)"
        else:
            where = f"live at {run.url}"
        sys.stdout.write(f"fitwatch: run {run.name!r} {where}\n")
        sys.stdout.flush()

    def _iterations(self) -> int:
        return int(self.model.optimizer.iterations.value)

    # -- fit ---------------------------------------------------------------------------
    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        try:
            self._train_begin()
        except Exception as exc:  # noqa: BLE001
            self._warn("on_train_begin failed", exc)

    def _train_begin(self) -> None:
        run = self._ensure_run()
        if run is None:
            return
        if self._in_fit:
            # The previous fit() never reached on_train_end and the watchdog could not
            # see it (no fit frame found): it ended by an exception.
            run.mark_failed("a previous fit() ended without on_train_end")
        frame = find_fit_frame()
        with self._lock:
            self._fit_frame = frame
            self._fit_thread = threading.get_ident()
            self._in_fit = True
        first_fit = not self._seeded_best
        if first_fit:
            self._seeded_best = True
            self._seed_best(run)
            # The fits of a resumed run before this process: config.fits lists them all.
            fits = run.resumed_config.get("fits")
            if isinstance(fits, list) and not self._fits:
                self._fits = list(fits)
        self._mean_keys = None
        self._first_epoch_of_fit = True
        self._epoch_start_iterations = self._iterations()
        steps = (self.params or {}).get("steps")
        self._steps_per_epoch = steps if isinstance(steps, int) and steps > 0 else None
        self._lr_schedule = _learning_rate_schedule(self.model)
        self._lr_pending = []
        fit_args = fit_arguments(frame, self.batch_size)
        # Throughput and ETA in the `system` scope (fitwatch/system_metrics.py).
        run.progress.steps, run.progress.total_steps = 0, None
        batch_size = fit_args.get("batch_size")
        run.progress.batch_size = batch_size if isinstance(batch_size, int) else None
        if run.system_sampler is not None:
            run.system_sampler.reset_progress()
        self._fits.append({"params": json_safe(dict(self.params or {})), "args": fit_args,
                           "initial_iterations": self._epoch_start_iterations})
        config: dict[str, Any] = {"fits": self._fits, "batch_size": fit_args.get("batch_size"),
                                  "batch_size_source": fit_args.get("batch_size_source")}
        if first_fit:
            self._announce(run)
            config.update(model_config(self.model))
            config["environment"] = capture_environment(with_keras=True)
        run.update_config(config)

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        try:
            iterations = self._iterations()
            if self._first_epoch_of_fit:
                self._first_epoch_of_fit = False
                # `fit(initial_epoch=k)` on a fresh optimizer (iterations 0) would log batch
                # steps from 0 again and overwrite epoch 0's; continue at k epochs of steps.
                # BackupAndRestore restores the iterations, and then nothing is added.
                steps = self._steps_per_epoch
                self._iteration_offset = max(0, epoch * steps - iterations) if steps else 0
                self._epoch_offset = 0
                if epoch == 0 and self.run is not None:
                    held = self.run.held_steps(Scope.epoch)
                    if self._last_epoch is not None:
                        held = max(held, self._last_epoch + 1)
                    if held > 0:
                        self._epoch_offset = held
                        batches = max(self.run.held_steps(Scope.batch), self._next_batch_step)
                        self._iteration_offset = max(0, batches - iterations)
                self._fit_first_epoch = epoch
                self._fit_start_iterations = iterations + self._iteration_offset
                epochs = (self.params or {}).get("epochs")
                if self.run is not None and steps and isinstance(epochs, int):
                    self.run.progress.total_steps = (epochs - epoch) * steps
            self._epoch = epoch + self._epoch_offset
            self._epoch_start_iterations = iterations + self._iteration_offset
            self._prev_count = 0
            self._prev_means = {}
            lr = self.model.optimizer.learning_rate
            self._learning_rates[self._epoch] = as_typed(float(keras.ops.convert_to_numpy(lr)))
        except Exception as exc:  # noqa: BLE001
            self._warn("on_epoch_begin failed", exc)

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self._every is None and self._reported_keys:
            return  # epoch-only logging: keep the hot path empty
        try:
            self._train_batch_end(batch, logs or {})
        except Exception as exc:  # noqa: BLE001
            self._warn("on_train_batch_end failed", exc)

    def _train_batch_end(self, batch: int, logs: Mapping[str, Any]) -> None:
        run = self.run
        if run is None or self._disabled:
            return
        if not self._reported_keys:
            self._reported_keys = True
            # Keras knows the compiled metric names only once a batch ran.
            run.update_config({"metric_names": sorted(logs)})
            self._send_manifest(run, logs)
        if self._every is None:
            return
        if self._mean_keys is None:
            self._mean_keys = self._classify_mean_keys(logs)
        # optimizer.iterations is read once an epoch (a variable read costs ~15 us, 1-2%
        # of a step here); within the epoch Keras's batch index counts the steps done,
        # except that with steps_per_execution the last index can pass steps - 1, so it
        # is capped by params["steps"]. tests/client_sdk/test_keras.py checks every
        # stored step against optimizer.iterations - 1 read in the hook itself.
        done = batch + 1
        steps = self._steps_per_epoch
        if steps is not None and done > steps:
            done = steps
        iterations = self._epoch_start_iterations + done
        step = iterations - 1
        run.progress.steps = iterations - self._fit_start_iterations
        count = done
        values = dict(logs)  # the dict is shared by every callback: copy it
        self._last_batch_logs = values
        emit = iterations % self._every == 0
        points: list[Point] = []
        now = time.time()
        epoch = self._epoch
        if emit:
            points = [Point(key, Scope.batch, step, float(value), now, epoch) for key, value in values.items()]
            if self._lr_schedule is not None:
                # The rate this step trained with: the schedule at the optimizer's iteration
                # (our step minus the offset of a fit resumed at initial_epoch), computed
                # for a chunk of steps at once (_flush_learning_rates).
                self._lr_pending.append((step, step - self._iteration_offset, now, epoch))
                if len(self._lr_pending) >= LR_CHUNK_STEPS:
                    self._flush_learning_rates()
        if self.log_derived:
            prev_count, prev = self._prev_count, self._prev_means
            if count > prev_count:
                for key in self._mean_keys:
                    mean = values.get(key)
                    if mean is None:
                        continue
                    derived = (count * mean - prev_count * prev.get(key, 0.0)) / (
                        count - prev_count
                    )
                    if emit:
                        points.append(Point(key, Scope.batch_derived, step, derived, now, epoch))
                self._prev_count, self._prev_means = count, values
        if points:
            run.add_points(points)

    def _flush_learning_rates(self) -> None:
        """Send the batch-scope rates of the logged batches still waiting for theirs."""
        pending, self._lr_pending = self._lr_pending, []
        if not pending or self.run is None or self._lr_schedule is None:
            return
        rates = _schedule_rates(self._lr_schedule, [iteration for _, iteration, _, _ in pending])
        self.run.add_points([
            Point(LEARNING_RATE_KEY, Scope.batch, step, rate, now, epoch)
            for (step, _, now, epoch), rate in zip(pending, rates, strict=True)
        ])

    def _send_manifest(self, run: Run, logs: Mapping[str, Any]) -> None:
        """Send manifest entries for keys not described yet (val_ twins come with the first
        validated epoch; a key added by another callback when it first shows up)."""
        keys = set(logs) | set(self._manifest_keys)
        if keys <= self._manifest_keys:
            return
        try:
            entries = metric_manifest(self.model, keys)
        except Exception as exc:  # noqa: BLE001 - an unknown Keras layout must not stop training
            self._warn("cannot describe the compiled metrics", exc)
            self._manifest_keys = keys
            return
        # A train key gains its val_ pair when validation first runs: send it again then.
        known = self._manifest_keys
        fresh = [e for e in entries if e["key"] not in known or e.get("pair") not in (None, *known)]
        self._manifest_keys = keys
        if fresh:
            run.update_metrics(fresh)

    def _classify_mean_keys(self, logs: Mapping[str, Any]) -> set[str]:
        """Keys whose logged value is a running mean (so `batch_derived` is meaningful)."""
        output_names = list(getattr(self.model, "output_names", None) or [])
        state_names: set[str] = set()
        mean_names: set[str] = set()
        for metric in flat_metrics(self.model):
            is_mean = type(metric) is keras.metrics.Mean or isinstance(
                metric, keras.metrics.MeanMetricWrapper
            )
            (mean_names if is_mean else state_names).add(metric.name)
        keys = set()
        for key in logs:
            names = {key} | {key[len(o) + 1 :] for o in output_names if key.startswith(o + "_")}
            if names & state_names:
                continue  # a ratio or root of accumulated state (AUC, RMSE...): not derivable
            if names & mean_names or key == "loss" or key.endswith("_loss"):
                keys.add(key)
                continue
            info = catalog.lookup(key, output_names)
            if info is not None and info.aggregation == "mean":
                keys.add(key)
        return keys

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        try:
            self._epoch_end(epoch, dict(logs or {}))
        except Exception as exc:  # noqa: BLE001
            self._warn("on_epoch_end failed", exc)

    def _epoch_end(self, epoch: int, values: dict[str, Any]) -> None:
        run = self.run
        if run is None or self._disabled:
            return
        self._flush_learning_rates()
        now = time.time()
        keras_epoch, epoch = epoch, epoch + self._epoch_offset
        self._next_batch_step = self._iterations() + self._iteration_offset
        points = [Point(key, Scope.epoch, epoch, float(value), now) for key, value in values.items()]
        lr = self._learning_rates.get(epoch)
        if lr is not None:
            points.append(Point(LEARNING_RATE_KEY, Scope.epoch, epoch, lr, now))
        if not self._reported_keys:
            self._reported_keys = True
            run.update_config(
                {"metric_names": sorted(k for k in values if not k.startswith("val_"))}
            )
        self._send_manifest(run, values)
        self._last_epoch = epoch
        self._last_epoch_logs = values
        if self._steps_per_epoch:
            run.progress.steps = (keras_epoch - self._fit_first_epoch + 1) * self._steps_per_epoch
        for key, value in values.items():
            self._epoch_values.setdefault(key, {})[epoch] = float(value)
        run.add_points(points)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        try:
            self._train_end()
        except Exception as exc:  # noqa: BLE001
            self._warn("on_train_end failed", exc)

    def _train_end(self) -> None:
        with self._lock:
            self._fit_frame = None
            self._in_fit = False
        run = self.run
        if run is None or self._disabled:
            return
        self._flush_learning_rates()
        fit = self._fits[-1] if self._fits else {}
        planned = (fit.get("params") or {}).get("epochs")
        stopped = bool(getattr(self.model, "stop_training", False))
        loss = self._last_batch_logs.get("loss", self._last_epoch_logs.get("loss"))
        summary: dict[str, Any] = {
            "last_epoch": self._last_epoch,
            "epochs_planned": planned,
            "stopped_early": stopped
            or (
                planned is not None
                and self._last_epoch is not None
                and self._last_epoch - self._epoch_offset + 1 < planned  # Keras's count
            ),
            "stopped_epoch": self._last_epoch if stopped else None,
            "stop_reason": None,
            "last": dict(self._last_epoch_logs),
            "best": self._best(),
        }
        if stopped:
            non_finite = isinstance(loss, float) and not math.isfinite(loss)
            summary["stop_reason"] = "non_finite_loss" if non_finite else "stop_training"
        run.update_summary(summary)
        run.update_config(
            {
                "learning_rate_per_epoch": {
                    str(k): v for k, v in sorted(self._learning_rates.items())
                }
            }
        )
        if self._owns_run:
            run.finish()

    def _seed_best(self, run: Run) -> None:
        """A resumed run's earlier epochs are on the server, not in this process: its series
        summaries give each key's min and max with their epochs, all `_best()` needs."""
        for series in run.resumed_series:
            if series.get("scope") != Scope.epoch:
                continue
            values = self._epoch_values.setdefault(str(series["key"]), {})
            for value_field, step_field in (("min_value", "min_step"), ("max_value", "max_step")):
                value, step = series.get(value_field), series.get(step_field)
                if isinstance(value, int | float) and isinstance(step, int) and math.isfinite(value):
                    values.setdefault(step, float(value))

    def _best(self) -> dict[str, Any]:
        """`{key: {"epoch", "value"}}` of the best epoch for keys whose direction is known."""
        output_names = list(getattr(self.model, "output_names", None) or [])
        best: dict[str, Any] = {}
        for key, by_epoch in self._epoch_values.items():
            direction = catalog.direction(key, output_names)
            finite = [(e, v) for e, v in by_epoch.items() if math.isfinite(v)]
            if direction is None or not finite:
                continue
            pick = min if direction == "min" else max
            epoch, value = pick(finite, key=lambda item: item[1])
            best[key] = {"epoch": epoch, "value": value, "direction": direction}
        return best

    # -- evaluate ------------------------------------------------------------------------
    def on_test_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if self._in_fit:
            return  # validation inside fit: the val_ keys arrive with on_epoch_end
        try:
            run = self._ensure_run(status=None)
            if run is None:
                return
            step = run.next_step(Scope.eval)
            now = time.time()
            run.add_points([Point(k, Scope.eval, step, float(v), now) for k, v in (logs or {}).items()])
        except Exception as exc:  # noqa: BLE001
            self._warn("on_test_end failed", exc)

    # -- watchdog (runs on the sender thread) ---------------------------------------
    def _watch_fit(self) -> None:
        with self._lock:
            frame, thread = self._fit_frame, self._fit_thread
            if frame is None or thread is None:
                return
            current = sys._current_frames().get(thread)
            while current is not None:
                if current is frame:
                    return  # fit() is still running
                current = current.f_back
            # fit() left the stack without on_train_end: an exception ended it.
            self._fit_frame = None
            self._in_fit = False
        run = self.run
        if run is not None:
            last = dict(self._last_batch_logs)
            run.mark_failed(
                f"fit() ended by an exception (no on_train_end) in epoch {self._epoch}; "
                f"last batch logs: {last}"
            )


__all__ = ["LEARNING_RATE_KEY", "FitWatchCallback"]
