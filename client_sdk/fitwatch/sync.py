"""`fitwatch sync`: upload the journals of runs that ended offline (or while the server was down).

Replays each journal's unacknowledged records in order over the same idempotent REST
calls the sender uses: the run id was chosen by the SDK, so creating the run again is a
no-op, and points are keyed by (run, key, scope, step), so a record that had reached the
server before the outage is simply overwritten with the same value. A record the server
refuses (a 4xx that resending cannot fix) is narrowed down to the part it refuses, which is
set aside in the run's `rejected.jsonl`, as the sender does (`refusals.py`), so that it
cannot hold back every record after it on every later sync.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fitwatch import limits, refusals, wire
from fitwatch.access import server_limits
from fitwatch.client import Client
from fitwatch.errors import FitwatchError, ServerError
from fitwatch.settings import ClientSettings
from fitwatch.spool import Journal, Record, list_journals

T = TypeVar("T")
# A 429 is waited out (Retry-After) this many times in a row before the journal is left for
# the next `fitwatch sync`.
MAX_RATE_LIMITED_TRIES = 60


def _honouring_retry_after(call: Callable[[], T]) -> T:
    for _ in range(MAX_RATE_LIMITED_TRIES - 1):
        try:
            return call()
        except ServerError as exc:
            if exc.status_code != 429:
                raise
            time.sleep(exc.retry_after_s if exc.retry_after_s is not None else 1.0)
    return call()


@dataclass
class SyncReport:
    uploaded: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    # (run id, the server's reason) per record set aside in the run's rejected.jsonl.
    rejected: list[tuple[str, str]] = field(default_factory=list)
    points: int = 0


def replay(
    journal: Journal, client: Client, *, max_points: int, rejected: list[str] | None = None
) -> int:
    """Send every pending record of `journal` in order, acking as it goes; returns points sent.

    What the server rejects is set aside (`Journal.set_aside`), its reason added to `rejected`."""
    run_id = journal.directory.name
    create_body = journal.run_body()
    pending = journal.pending()
    sent = 0
    i = 0
    while i < len(pending):
        record = pending[i]
        batch: list[Record] = [record]
        if record.op == "points":
            total = wire.count_points(record.body)
            entries = wire.count_entries(record.body)
            while i + len(batch) < len(pending) and pending[i + len(batch)].op == "points":
                nxt = pending[i + len(batch)]
                total += wire.count_points(nxt.body)
                entries += wire.count_entries(nxt.body)
                if total > max_points or entries > limits.SERIES_PER_REQUEST_MAX:
                    break
                batch.append(nxt)
        refused = _send(client, run_id, create_body, batch)
        for part, reason in refused:
            journal.set_aside(Record(record.seq, record.op, part), reason)
            if rejected is not None:
                rejected.append(f"{refusals.describe(record.op, [(part, reason)])}: {reason}")
        if record.op == "points":
            sent += sum(wire.count_points(r.body) for r in batch) - sum(
                wire.count_points(part) for part, _ in refused
            )
        journal.ack(batch[-1].seq)
        i += len(batch)
    return sent


def _send(
    client: Client, run_id: str, create_body: dict[str, object] | None, batch: list[Record]
) -> refusals.Refused:
    """Send `batch` as one request; the parts the server refuses (`refusals.py`)."""
    op = batch[0].op
    body = batch[0].body if len(batch) == 1 else wire.merge_bodies(r.body for r in batch)

    def request(op: str, part: dict[str, Any]) -> object:
        if op == "create":
            return _honouring_retry_after(lambda: client.create_run(part))
        call: Callable[[], object]
        if op == "points":
            call = lambda: client.post_points(run_id, part)  # noqa: E731
        else:
            call = lambda: client.update_run(run_id, part)  # noqa: E731
        try:
            return _honouring_retry_after(call)
        except ServerError as exc:
            if exc.status_code != 404 or create_body is None:
                raise
            _honouring_retry_after(lambda: client.create_run(dict(create_body)))
            return _honouring_retry_after(call)

    return refusals.send(request, op, body)


def sync_journals(
    settings: ClientSettings,
    *,
    journal_dir: Path | None = None,
    run_ids: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SyncReport:
    """Upload every journal under `journal_dir` (default: the settings') to `settings.url`."""
    report = SyncReport()
    directory = journal_dir or settings.journal_dir
    say = progress or (lambda _message: None)
    with Client(settings) as client:
        # Records are merged up to the server's own ceiling: above it the server answers 413.
        settings = server_limits(settings, client)
        for journal in list_journals(directory):
            run_id = journal.directory.name
            if run_ids and run_id not in run_ids:
                continue
            if not journal.lock():
                report.skipped.append((run_id, "in use by a running process"))
                say(f"skipped {run_id}: in use by a running process")
                continue
            rejected: list[str] = []
            try:
                points = replay(
                    journal, client, max_points=settings.max_points_per_request, rejected=rejected
                )
            except FitwatchError as exc:
                report.failed.append((run_id, str(exc)))
                say(f"failed {run_id}: {exc} (kept; run `fitwatch sync` again)")
                journal.unlock()
                journal.close()
                continue
            report.points += points
            report.uploaded.append(run_id)
            report.rejected.extend((run_id, reason) for reason in rejected)
            say(f"uploaded {run_id}: {points} points")
            for reason in rejected:
                say(f"rejected by the server (kept in {journal.rejected_path}): {reason}")
            journal.unlock()
            journal.delete()
    return report
