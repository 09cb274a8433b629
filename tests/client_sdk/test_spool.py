"""The on-disk journal: append, ack, ordered replay, torn lines, the run lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitwatch.spool import Journal, list_journals


def test_pending_records_come_back_in_order_until_acked(tmp_path: Path) -> None:
    journal = Journal.for_run(tmp_path, "run1")
    journal.append("create", {"id": "run1"})
    journal.append("points", {"series": [1]})
    journal.append("update", {"status": "finished"})
    journal.ack(1)
    journal.close()
    reopened = Journal.for_run(tmp_path, "run1")
    assert [(r.seq, r.op) for r in reopened.pending()] == [(2, "points"), (3, "update")]
    assert reopened.run_body() == {"id": "run1"}
    # New records continue the sequence after a reopen.
    assert reopened.append("points", {"series": []}).seq == 4


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    journal = Journal.for_run(tmp_path, "run1")
    journal.append("create", {"id": "run1"})
    journal.close()
    with open(journal.path, "a") as handle:
        handle.write('{"seq": 2, "op": "poi')
    assert [r.seq for r in Journal.for_run(tmp_path, "run1").pending()] == [1]


def test_unknown_ops_are_refused_with_what_was_received(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"Received: op='delete'"):
        Journal.for_run(tmp_path, "run1").append("delete", {})


def test_a_locked_journal_cannot_be_locked_twice(tmp_path: Path) -> None:
    first = Journal.for_run(tmp_path, "run1")
    second = Journal.for_run(tmp_path, "run1")
    assert first.lock()
    assert not second.lock()
    first.unlock()
    assert second.lock()
    second.unlock()


def test_journals_are_listed_and_deleted(tmp_path: Path) -> None:
    for run_id in ("a", "b"):
        Journal.for_run(tmp_path, run_id).append("create", {"id": run_id})
    assert sorted(j.directory.name for j in list_journals(tmp_path)) == ["a", "b"]
    Journal.for_run(tmp_path, "a").delete()
    assert [j.directory.name for j in list_journals(tmp_path)] == ["b"]
    assert list(list_journals(tmp_path / "missing")) == []


def test_a_fully_acked_journal_is_compacted_to_its_create_record(tmp_path: Path) -> None:
    journal = Journal.for_run(tmp_path, "run1")
    journal.append("create", {"id": "run1"})
    journal.append("points", {"series": ["x" * 100]})
    assert not journal.compact({"id": "run1"}, min_bytes=10)  # record 2 not acked yet
    journal.ack(2)
    assert not journal.compact({"id": "run1"}, min_bytes=10_000)  # small enough to keep
    assert journal.compact({"id": "run1"}, min_bytes=10)
    assert journal.append("update", {"status": "finished"}).seq == 2
    reopened = Journal.for_run(tmp_path, "run1")
    assert reopened.run_body() == {"id": "run1"}
    assert [(r.seq, r.op) for r in reopened.pending()] == [(2, "update")]
