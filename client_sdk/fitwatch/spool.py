"""The on-disk journal of one run: append records, acknowledge them, replay in order.

Layout: `<journal_dir>/<run_id>/journal.jsonl`, one JSON object a line:
`{"seq": n, "op": "create"|"points"|"update", "body": {...}}` for a record and
`{"ack": n}` once every record up to `n` is stored on the server. A record the server
rejects (a 4xx that resending cannot fix) is set aside in `rejected.jsonl` beside it, with
the server's reason, and outlives the journal: it is for a person to read. Appending acks to the
same file keeps it append-only, so a crash can only tear the last line, which replay
skips. A live run holds an exclusive `flock` on `lock`, so `fitwatch sync` never replays
a journal that its own run is still writing. No networking here.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fitwatch.errors import JournalError

JOURNAL_FILE = "journal.jsonl"
# Once everything is acknowledged and the file is bigger than this, the journal is
# rewritten to just the run's `create` record, so a long online run keeps a small file.
COMPACT_BYTES = 4 * 1024 * 1024
LOCK_FILE = "lock"
REJECTED_FILE = "rejected.jsonl"
OPS = ("create", "points", "update")


@dataclass(frozen=True)
class Record:
    seq: int
    op: str
    body: dict[str, Any]


class Journal:
    """Append-only journal of one run. Not thread-safe: one writer (the sender thread)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / JOURNAL_FILE
        self._file: IO[str] | None = None
        self._torn = False  # the last write failed, maybe halfway through a line
        self._lock_file: IO[str] | None = None
        records, acked = self._read()
        self._next_seq = records[-1].seq + 1 if records else 1
        self.acked = acked

    @classmethod
    def for_run(cls, journal_dir: Path, run_id: str) -> Journal:
        return cls(journal_dir / run_id)

    # -- locking -------------------------------------------------------------
    def lock(self) -> bool:
        """Take the run's lock without waiting; False if another process holds it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        handle = open(self.directory / LOCK_FILE, "a+")  # noqa: SIM115 - held until unlock()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def unlock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    # -- writing ---------------------------------------------------------------
    def append(self, op: str, body: dict[str, Any]) -> Record:
        if op not in OPS:
            raise ValueError(f"op must be one of {OPS}. Received: op={op!r}")
        record = Record(self._next_seq, op, body)
        self._write({"seq": record.seq, "op": op, "body": body})
        self._next_seq += 1
        return record

    def append_in_memory(self, op: str, body: dict[str, Any]) -> Record:
        """The record `append` would have written, numbered in order but not on disk (the
        sender's fallback when the disk refuses the write)."""
        record = Record(self._next_seq, op, body)
        self._next_seq += 1
        return record

    def ack(self, seq: int) -> None:
        """Mark every record up to `seq` as stored on the server."""
        if seq > self.acked:
            self._write({"ack": seq})
            self.acked = seq

    def _write(self, obj: dict[str, Any]) -> None:
        # Python's json writes NaN as a bare token; the journal is ours to read back.
        line = json.dumps(obj, separators=(",", ":")) + "\n"
        try:
            if self._file is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            if self._torn:
                # A failed write may have left part of a line: end it, so that it is the only
                # line replay skips, not the next record too.
                line = "\n" + line
            self._file.write(line)
            self._file.flush()
            self._torn = False
        except OSError as exc:
            self._torn = True
            self._discard_file()
            raise JournalError(f"cannot write the journal {self.path}: {exc}") from exc

    def _discard_file(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            try:
                handle.close()  # flushes what is buffered, which may fail again
            except OSError:
                pass

    def compact(self, create_body: dict[str, Any], *, min_bytes: int = COMPACT_BYTES) -> bool:
        """If every record is acked and the file exceeds `min_bytes`, keep only `create`.

        Written to a temporary file and renamed over the journal, so a crash leaves either
        the old journal or the new one, never half of one.
        """
        if self._next_seq - 1 != self.acked:
            return False
        try:
            if not self.path.exists() or self.path.stat().st_size < min_bytes:
                return False
            self.close()
            tmp = self.path.with_suffix(".tmp")
            lines = [{"seq": 1, "op": "create", "body": create_body}, {"ack": 1}]
            tmp.write_text("".join(json.dumps(obj, separators=(",", ":")) + "\n" for obj in lines), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise JournalError(f"cannot compact the journal {self.path}: {exc}") from exc
        self._next_seq, self.acked = 2, 1
        return True

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # -- reading ---------------------------------------------------------------
    def _read(self) -> tuple[list[Record], int]:
        records: list[Record] = []
        acked = 0
        if not self.path.exists():
            return records, acked
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise JournalError(f"cannot read the journal {self.path}: {exc}") from exc
        for line in text.splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                # Only the last line can be torn (the process died mid-write): that
                # record never reached the server either, so nothing is lost.
                continue
            if "ack" in obj:
                acked = max(acked, int(obj["ack"]))
            else:
                records.append(Record(int(obj["seq"]), obj["op"], obj["body"]))
        return records, acked

    def pending(self) -> list[Record]:
        """Records not yet acknowledged, in the order they were appended."""
        records, acked = self._read()
        return [record for record in records if record.seq > acked]

    def run_body(self) -> dict[str, Any] | None:
        """The body of the run's `create` record, if the journal has one."""
        records, _ = self._read()
        return next((r.body for r in records if r.op == "create"), None)

    @property
    def rejected_path(self) -> Path:
        return self.directory / REJECTED_FILE

    def set_aside(self, record: Record, reason: str) -> None:
        """Keep `record` (or the part of one the server refused) in `rejected.jsonl`."""
        line = {"reason": reason, "seq": record.seq, "op": record.op, "body": record.body}
        try:
            with open(self.rejected_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")
        except OSError as exc:
            raise JournalError(f"cannot write {self.rejected_path}: {exc}") from exc

    def delete(self) -> None:
        """Remove the journal once every record is acknowledged (what the server rejected
        stays: the directory then holds only `rejected.jsonl`)."""
        self.close()
        if not self.rejected_path.exists():
            shutil.rmtree(self.directory, ignore_errors=True)
            return
        for name in (JOURNAL_FILE, LOCK_FILE):
            (self.directory / name).unlink(missing_ok=True)


def list_journals(journal_dir: Path) -> Iterator[Journal]:
    """Every run journal under `journal_dir`, oldest first."""
    if not journal_dir.is_dir():
        return
    entries = [p for p in journal_dir.iterdir() if (p / JOURNAL_FILE).exists()]
    for path in sorted(entries, key=lambda p: os.stat(p / JOURNAL_FILE).st_mtime):
        yield Journal(path)
