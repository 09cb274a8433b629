"""The run lifecycle: `init()` creates a `Run`; `log()`, `finish()`; exit and crash handling.

A `Run` owns one `Sender` (background thread) and one journal. The run id is chosen here
(uuid4 hex), so creating it on the server is idempotent and an offline journal can be
replayed later by `fitwatch sync` without making a second run.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from types import TracebackType
from typing import Any

from fitwatch import limits, wire
from fitwatch.access import check_access
from fitwatch.errors import FitwatchError
from fitwatch.names import memorable_name
from fitwatch.resume import check_resume_mode, find_run, journal_next_steps, next_steps
from fitwatch.sender import Sender, Warner
from fitwatch.settings import ClientSettings, Mode
from fitwatch.spool import Journal
from fitwatch.system_metrics import SCOPE as SYSTEM_SCOPE
from fitwatch.system_metrics import Progress, SystemSampler


class RunState(StrEnum):
    running = "running"
    finished = "finished"
    failed = "failed"


_live_runs: set[Run] = set()
_hooks_lock = threading.Lock()
_hooks_installed = False
_previous_excepthook: Callable[..., Any] | None = None


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    # Python calls sys.excepthook before atexit handlers: remember the failure so that
    # the exit handler finalises every live run as `failed`, not `finished`.
    for run in list(_live_runs):
        run.mark_failed(f"{exc_type.__name__}: {exc}")
    hook = _previous_excepthook or sys.__excepthook__
    hook(exc_type, exc, tb)


def _finish_at_exit() -> None:
    # One deadline for all open runs: exit waits at most finish_timeout_s in total.
    deadline = time.monotonic() + max(
        (r.settings.finish_timeout_s for r in _live_runs), default=0.0
    )
    for run in list(_live_runs):
        run.finish(timeout=max(0.0, deadline - time.monotonic()))


def _install_hooks() -> None:
    global _hooks_installed, _previous_excepthook
    with _hooks_lock:
        if _hooks_installed:
            return
        _previous_excepthook = sys.excepthook
        sys.excepthook = _excepthook
        atexit.register(_finish_at_exit)
        _hooks_installed = True


class Run:
    """One training session on the server. Create it with `fitwatch.init()`.

    `log()` only appends to memory and returns at once; a background thread sends.
    Use it as a context manager, or call `finish()`: an exception inside the `with`
    block marks the run `failed`. A run left open is finished at interpreter exit
    (as `failed` after an uncaught exception).
    """

    def __init__(
        self,
        *,
        run_id: str,
        project: str,
        name: str,
        config: Mapping[str, Any],
        tags: Sequence[str],
        notes: str,
        settings: ClientSettings,
        resumed: dict[str, Any] | None = None,
    ) -> None:
        self.id = run_id
        self.project = project
        self.name = name
        self.settings = settings
        self.state = RunState.running
        self.summary: dict[str, Any] = {}
        self.failure: str | None = None
        self._create_body: dict[str, Any] = {
            "id": run_id,
            "project": project,
            "config": dict(config),
            "tags": list(tags),
            "notes": notes,
            "name": name,
        }
        # A resumed run continues each scope after the server's last step (fitwatch/resume.py).
        self.resumed = resumed is not None
        # The series summaries the server held when the run was resumed (for the Keras
        # callback's summary of the best epochs, which spans the whole run).
        self.resumed_series: list[dict[str, Any]] = list((resumed or {}).get("series") or [])
        self.resumed_config: dict[str, Any] = dict((resumed or {}).get("config") or {})
        self._next_step: dict[str, int] = next_steps(resumed) if resumed is not None else {}
        self._ticks: list[Callable[[], None]] = []
        # Training progress (steps, batch size), reported by the Keras callback for throughput.
        self.progress = Progress()
        self.system_sampler: SystemSampler | None = None
        if settings.system_metrics:
            self.system_sampler = SystemSampler(settings.system_metrics_interval_s, self.progress)
            self._ticks.append(self._sample_system)
        self.warner = Warner()
        # Keys checked against limits.key_problem already: the per-point check is then a set lookup.
        self._known_keys: set[str] = set()
        # What log() and the updates hand a finished run while it cannot reopen (its journal
        # is locked by another Run of this id or by `fitwatch sync`), in order; see reopen().
        self._held: list[tuple[str, Any]] = []
        self._held_points = 0
        self._next_reopen = 0.0
        self.journal = Journal.for_run(settings.journal_dir, run_id)
        # A killed process of this run may have left points the server never acknowledged;
        # the sender replays them first, so steps continue after them too (else the new
        # points would overwrite them).
        for scope, step in journal_next_steps(self.journal.pending()).items():
            self._next_step[scope] = max(self._next_step.get(scope, 0), step)
        self._start_sender()
        if resumed is not None:
            # The create is a no-op for a run that exists: say it is running again.
            self._sender.add_update({"status": "running"})

    def _start_sender(self) -> None:
        if not self.journal.lock():
            raise ValueError(
                f"the journal of run {self.id!r} is in use by another process. Received: id={self.id!r}"
            )
        sender = Sender(
            run_id=self.id,
            create_body=self._create_body,
            settings=self.settings,
            journal=self.journal,
            warner=self.warner,
            on_tick=self._tick,
        )
        # Assigned before the thread starts: its first tick may sample the system and hand the
        # points to self._sender at once.
        self._sender = sender
        sender.start()
        _live_runs.add(self)
        _install_hooks()

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, project={self.project!r}, name={self.name!r}, state={self.state.value!r})"

    @property
    def url(self) -> str:
        """The run's page on the dashboard."""
        return f"{self.settings.url}/run.html?run={self.id}"

    # -- logging --------------------------------------------------------------------
    def log(
        self,
        data: Mapping[str, Any],
        step: int | None = None,
        scope: str = "epoch",
        epoch: int | None = None,
    ) -> None:
        """Record one value per key at one step.

        Args:
            data: `{key: number}`; numbers may be NaN or +/-Inf (stored as such).
                A value that is not a number is skipped with a warning.
            step: the step (epoch index for `scope="epoch"`, global batch index for
                `"batch"`); default: one more than the last step logged in that scope.
            scope: `"epoch"` (default), `"batch"`, `"batch_derived"` or `"eval"`.
            epoch: for batch points, the epoch they belong to.

        Example:

        ```python
        with fitwatch.init(project="numpy-sgd") as run:
            for epoch in range(10):
                run.log({"loss": train_one_epoch()})
        ```
        """
        try:
            self._log(data, step, scope, epoch)
        except Exception as exc:  # noqa: BLE001 - log() must never break the training loop
            self.warner.warn(
                f"log-failed:{type(exc).__name__}",
                f"log() failed and its points were skipped ({type(exc).__name__}: {exc}). "
                f"Received: data={data!r:.200}",
            )

    def _log(
        self, data: Mapping[str, Any], step: int | None, scope: str, epoch: int | None
    ) -> None:
        if not isinstance(data, Mapping):
            self.warner.warn(
                "data", f"log() takes a dict of {{key: number}}. Received: data={data!r:.200}"
            )
            return
        if not isinstance(scope, str) or scope not in wire.SCOPES:
            self.warner.warn(
                f"scope:{scope}", f"scope must be one of {wire.SCOPES}. Received: scope={scope!r}"
            )
            return
        if step is None:
            step = self._next_step.get(scope, 0)
        checked_step = limits.as_step(step)
        if checked_step is None:
            # The same rule as limits.valid_points, checked here before the step advances.
            self.warner.warn(
                "step", f"{limits.STEP_RULE}; the call is skipped. Received: step={step!r}"
            )
            return
        checked_epoch = None if epoch is None else limits.as_epoch(epoch)
        if epoch is not None and checked_epoch is None:
            self.warner.warn(
                "epoch", f"{limits.EPOCH_RULE}; the call is skipped. Received: epoch={epoch!r}"
            )
            return
        now = time.time()
        points: list[wire.Point] = []
        for key, raw in data.items():
            try:
                value = float(raw)
            except Exception:  # noqa: BLE001 - TypeError, ValueError, OverflowError (10**400), a tensor's own
                self.warner.warn(
                    f"value:{key}",
                    f"a logged value must be a number float() can convert. Received: {key}={raw!r:.200} (skipped)",
                )
                continue
            # The key is checked with the step and epoch in add_points (limits.valid_points).
            points.append(wire.Point(str(key), scope, checked_step, value, now, checked_epoch))
        self._next_step[scope] = max(self._next_step.get(scope, 0), checked_step + 1)
        self.add_points(points)

    def add_points(self, points: list[wire.Point]) -> None:
        """Queue ready-made points (the Keras callback's fast path).

        A point the server would refuse (limits.py: key, step, epoch, scope) is skipped with
        a warning here: sent, it would make the server refuse every point of its request.
        """
        if not points:
            return
        points = limits.valid_points(points, self._known_keys, self.warner.warn)
        if not points:
            return
        if self.state is not RunState.running and not self._reopened("running"):
            self._hold("points", points)
            return
        self._sender.add_points(points)

    def held_steps(self, scope: str) -> int:
        """The first step after what the run held in `scope` when it started (the server's
        and the journal's points, for a resumed run) or was given since by `log()`."""
        return self._next_step.get(scope, 0)

    def next_step(self, scope: str) -> int:
        step = self._next_step.get(scope, 0)
        self._next_step[scope] = step + 1
        return step

    def update_config(self, config: Mapping[str, Any]) -> None:
        """Merge `config` into the run's config on the server (top-level keys replace).

        An update that would make the config one the server refuses (too deep, too large,
        a NUL character) is skipped with a warning: this runs inside training, where fitwatch
        must not raise."""
        # The server checks the merged config; for a resumed run it holds the old config too.
        base = (
            {**self.resumed_config, **self._create_body["config"]}
            if self.resumed
            else self._create_body["config"]
        )
        if self._refused_document("config", base, config):
            return
        self._create_body["config"].update(config)
        self._update({"config": dict(config)})

    def update_metrics(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Merge metric manifest entries (by key) into the run's manifest on the server."""
        self._update({"metrics": [dict(e) for e in entries]})

    def update_summary(self, summary: Mapping[str, Any]) -> None:
        """Merge `summary` into the run's summary (sent with the next flush); skipped with a
        warning, like `update_config`, if the server would refuse the merged summary."""
        if self._refused_document("summary", self.summary, summary):
            return
        self.summary.update(summary)
        self._update({"summary": dict(summary)})

    def _refused_document(
        self, what: str, base: Mapping[str, Any], update: Mapping[str, Any]
    ) -> bool:
        """Warn (once per document) and say True if the server would refuse `base` merged
        with `update`: sent, the update would only be refused and set aside."""
        if not isinstance(update, Mapping):
            self.warner.warn(
                f"{what}-refused", f"update_{what}() takes a dict; skipped. Received: {update!r}"
            )
            return True
        problem = limits.document_problem(
            {**base, **update},
            what=what,
            max_depth=self.settings.max_document_depth,
            max_bytes=self.settings.max_document_bytes,
        )
        if problem is not None:
            self.warner.warn(
                f"{what}-refused",
                f"update_{what}() skipped (the {what} on the server is unchanged): {problem}. "
                f"Received keys: {sorted(map(str, update))[:10]}",
            )
            return True
        return False

    def _update(self, body: dict[str, Any]) -> None:
        if self.state is not RunState.running and not self._reopened(None):
            self._hold("update", body)
            return
        self._sender.add_update(body)

    def _reopened(self, status: str | None) -> bool:
        self.reopen(status=status)
        return self.state is RunState.running

    def _hold(self, op: str, payload: Any) -> None:
        # Another Run of this id live in this process holds the journal: it writes to the
        # same server run, so it takes these (in order with its own) rather than memory.
        for other in list(_live_runs):
            if other is not self and other.id == self.id and other.state is RunState.running:
                if op == "points":
                    other._sender.add_points(payload)
                else:
                    other._sender.add_update(payload)
                return
        # Bounded by memory only: losing them silently is what this is here to avoid. Live
        # again, so that the exit handler's finish() waits for the lock and sends them.
        self._held.append((op, payload))
        _live_runs.add(self)
        if op == "points":
            self._held_points += len(payload)

    def add_tick(self, tick: Callable[[], None]) -> None:
        """Run `tick` on the sender thread at every flush interval (watchdogs)."""
        self._ticks.append(tick)

    def _tick(self) -> None:
        for tick in list(self._ticks):
            tick()

    def _sample_system(self) -> None:
        # On the sender thread, so the training thread never pays for a sample.
        sampler = self.system_sampler
        if sampler is None or self.state is not RunState.running or not sampler.due():
            return
        values = sampler.sample()
        if not values:
            return
        step = self._next_step.get(SYSTEM_SCOPE, 0)
        self._next_step[SYSTEM_SCOPE] = step + 1
        now = time.time()
        self._sender.add_points(
            [wire.Point(k, SYSTEM_SCOPE, step, v, now) for k, v in values.items()]
        )

    # -- ending -------------------------------------------------------------------
    def mark_failed(self, reason: str) -> None:
        """Record a failure: the server shows the run `failed` now, and `finish()` keeps it."""
        if self.failure is None:
            self.failure = reason
            if self.state is RunState.running:
                self._sender.add_update({"status": "failed", "summary": {"error": reason}})

    def flush(self, timeout: float | None = None) -> bool:
        """Wait (bounded) until everything logged so far is on the server (or journaled offline)."""
        wait = self.settings.finish_timeout_s if timeout is None else timeout
        return self._sender.flush(wait)

    def finish(
        self,
        status: str | None = None,
        summary: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> bool:
        """End the run: send what is left (waiting at most `timeout` s) and set its status.

        Args:
            status: `"finished"` (default) or `"failed"` (the default after `mark_failed()`).
            summary: merged into the run's summary.
            timeout: the longest wait for the server, default `finish_timeout_s` (15 s).
                What is not sent by then stays in the journal for `fitwatch sync`.

        Returns:
            True when the server has everything; False when some records wait in the journal.
        """
        if status not in (None, "finished", "failed"):
            raise ValueError(f"status must be 'finished' or 'failed'. Received: status={status!r}")
        if self.state is not RunState.running:
            if not self._held:
                return self._sender.pending_records == 0
            if not self._wait_to_reopen(self.settings.finish_timeout_s if timeout is None else timeout):
                self.warner.warn(
                    "held-lost",
                    f"{self._held_points} points logged to run {self.id} after it finished "
                    f"were not recorded: its journal stayed locked ({self.journal.directory})",
                )
                self._held, self._held_points = [], 0
                _live_runs.discard(self)
                return False
        final = status or ("failed" if self.failure else "finished")
        body: dict[str, Any] = {"status": final}
        if summary:
            self.summary.update(summary)
            body["summary"] = dict(summary)
        self._sender.add_update(body)
        self.state = RunState(final)
        wait = self.settings.finish_timeout_s if timeout is None else timeout
        done = self._sender.close(wait)
        self.journal.unlock()
        _live_runs.discard(self)
        if self.settings.mode is Mode.offline:
            self.warner.warn(
                "offline-finish",
                f"run {self.id} was recorded offline in {self.journal.directory}; upload it with `fitwatch sync`",
            )
        elif done:
            self.journal.delete()
        else:
            in_memory = self._sender.pending_in_memory
            lost = (
                f"; {in_memory} of them could not be written to the journal and are lost when "
                "this process ends"
                if in_memory
                else ""
            )
            self.warner.warn(
                "finish-pending",
                f"{self._sender.pending_records} records of run {self.id} could not be sent within "
                f"{wait:g} s ({self._sender.waiting_on()}) and are kept in {self.journal.directory}; "
                f"upload them with `fitwatch sync` when the server is back{lost}",
            )
        return done

    def _wait_to_reopen(self, wait: float) -> bool:
        """Reopen (for `finish()`), trying the journal's lock until `wait` s have passed."""
        deadline = time.monotonic() + wait
        while True:
            self._next_reopen = 0.0
            self.reopen(status=None)
            if self.state is RunState.running:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def reopen(self, status: str | None = "running") -> None:
        """Resume a finished run in this process (a second `fit()` on the same callback).

        Never raises (log() calls it). When the run's journal is locked (another `Run` of
        this id is live in this process, or `fitwatch sync` is uploading it), the run stays
        finished and what is logged meanwhile is held in memory; each later log() tries
        again (at most once a second), and `finish()` waits for the lock (up to its
        timeout) before it gives the held points up with a warning.
        """
        if self.state is RunState.running:
            return
        # After a failure the lock is tried at most once a second (log() may come per batch).
        now = time.monotonic()
        if now < self._next_reopen:
            return
        if not self._try_start_sender():
            self._next_reopen = now + 1.0
            return
        self.state = RunState.running
        self.failure = None if status == "running" else self.failure
        if status is not None:
            self._sender.add_update({"status": status})
        held, self._held, self._held_points = self._held, [], 0
        for op, payload in held:
            if op == "points":
                self._sender.add_points(payload)
            else:
                self._sender.add_update(payload)

    def _try_start_sender(self) -> bool:
        try:
            self._start_sender()
        except (ValueError, OSError, FitwatchError) as exc:
            # A journal that cannot be read (JournalError) must not leave this run holding
            # its own lock: the next try would find it "in use" forever.
            self.journal.unlock()
            self.warner.warn(
                "reopen-locked",
                f"run {self.id} could not continue: {exc}. What is logged to it goes to the live Run "
                "of this id in this process if there is one, else it is kept in memory and sent "
                "once the journal is free (wait for `fitwatch sync`)",
            )
            return False
        return True

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and not issubclass(exc_type, KeyboardInterrupt | SystemExit):
            self.mark_failed(f"{exc_type.__name__}: {exc}")
        elif exc_type is not None:
            self.mark_failed(exc_type.__name__)
        self.finish()


def init(
    project: str | None = None,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    tags: Sequence[str] = (),
    notes: str = "",
    url: str | None = None,
    mode: str | None = None,
    id: str | None = None,  # noqa: A002 - the REST API calls it `id`
    journal_dir: str | None = None,
    token: str | None = None,
    resume: str | None = None,
    **settings: Any,
) -> Run:
    """Start a run (or resume one) and return it.

    Args:
        project: the project the run belongs to (created on first use); default
            `"default"`, or a resumed run's own project.
        name: a display name; default: a short memorable one (`brisk-otter-12`).
        config: hyperparameters and anything to compare runs by later.
        tags: labels to filter runs by.
        notes: free text.
        url: the server, default `FITWATCH_URL`, else `http://127.0.0.1:8000`.
        mode: `"online"` (default, or `FITWATCH_MODE`) or `"offline"`: only write the
            journal (under `FITWATCH_DIR`), and upload it later with `fitwatch sync`.
        id: the run id (1-64 of `[A-Za-z0-9_-]`); default: a fresh uuid4 hex.
        resume: with an `id`, what to do if the server has that run already: `"allow"`
            (default) continues it, `"must"` requires it (`ValueError` for an unknown id),
            `"never"` refuses it. A resumed run is `running` again and `log()` without a
            step continues after the server's last step in each scope.
        journal_dir: where journals live; default `FITWATCH_DIR`, else
            `~/.local/share/fitwatch/journal`.
        token: the API token (`fitwatch token create --scope write`), default
            `FITWATCH_TOKEN`. Online, `init()` asks the server what the token may do
            (`GET /api/v1/auth/whoami`) before anything else.
        **settings: overrides of `ClientSettings` fields (`flush_interval_s`, ...).

    Returns:
        The `Run`, already streaming.

    Raises:
        ValueError: for a malformed argument (nothing is sent then), including any run
            field the server would refuse (`fitwatch/limits.py`: a name, project or tag over
            255 characters or with a control character, a config deeper or larger than
            the server's document limits or with a NUL character), when the server
            refuses the token, the token is read-only, or it is bound to another project,
            and when `resume` forbids what the server has (or, for `"must"`, cannot be asked).
            An unreachable server is not an error: the run is journaled and sent later.

    Example:

    ```python
    run = fitwatch.init(project="digits", name="mlp", config={"lr": 1e-3})
    for step in range(100):
        run.log({"loss": 1 / (step + 1)}, step=step, scope="batch")
    run.finish()
    ```
    """
    # Every field of the create by the server's rules (fitwatch/limits.py), here where the
    # user reads a ValueError: a create the server refuses later would lose the whole run.
    if project is not None:
        limits.check_name(project, "project")
    resume_mode = check_resume_mode(resume)
    if resume_mode == "must" and id is None:
        raise ValueError("resume='must' needs the id of the run to resume. Received: id=None")
    if name is not None:
        limits.check_name(name, "name")
    tags = limits.check_tags(tags)
    limits.check_notes(notes)
    if config is not None and not isinstance(config, Mapping):
        raise ValueError(f"config must be a dict or None. Received: config={config!r}")
    run_id = uuid.uuid4().hex if id is None else limits.check_run_id(id)
    unknown = set(settings) - set(ClientSettings.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}. Received: {settings!r}")
    client_settings = ClientSettings.load(
        url=url, mode=mode, journal_dir=journal_dir, token=token, **settings
    )
    resumed = (
        find_run(client_settings, run_id=run_id, resume=resume_mode) if id is not None else None
    )
    if resumed is not None and project is not None and resumed["project"] != project:
        raise ValueError(
            f"run {run_id!r} belongs to project {resumed['project']!r}; resume it there (or leave "
            f"project out). Received: project={project!r}"
        )
    if resumed is None and id is not None:
        # Not on the server (yet): a journal of this id on this machine (a run that died before
        # the server had it) is replayed first, so its project is the run's.
        journaled = Journal.for_run(client_settings.journal_dir, run_id).run_body()
        if journaled is not None:
            resumed_project = str(journaled.get("project") or "default")
            if project is not None and project != resumed_project:
                raise ValueError(
                    f"run {run_id!r} belongs to project {resumed_project!r} (its journal in "
                    f"{client_settings.journal_dir / run_id}); resume it there (or leave project "
                    f"out). Received: project={project!r}"
                )
            project = resumed_project
    project = resumed["project"] if resumed is not None else (project or "default")
    client_settings = check_access(client_settings, project=project)
    # After check_access: a server configured with other document limits says so there.
    limits.check_document(
        config or {},
        field="config",
        max_depth=client_settings.max_document_depth,
        max_bytes=client_settings.max_document_bytes,
    )
    return Run(
        run_id=run_id,
        project=project,
        # A resumed run keeps its name (creating it again is a no-op on the server): the name
        # announced and shown by the SDK is the one the dashboard shows.
        name=resumed["name"] if resumed is not None else (name or memorable_name()),
        config=config or {},
        tags=list(tags),
        notes=notes,
        settings=client_settings,
        resumed=resumed,
    )
