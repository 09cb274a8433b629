"""The ingest writer: concurrent requests share transactions; one bad job fails alone."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import text

from fitwatch_server import schemas
from fitwatch_server.db import session_scope
from fitwatch_server.errors import NotFound, ServerBusy
from fitwatch_server.store import point_data, runs
from fitwatch_server.store.point_data.writer import IngestWriter
from tests.helpers.factories import series_body
from tests.helpers.wait import wait_until


def _batch(*series: dict[str, object]) -> schemas.PointBatchIn:
    return schemas.PointBatchIn.model_validate({"series": list(series)})


def _make_run(factory, name: str) -> str:  # type: ignore[no-untyped-def]
    with session_scope(factory) as session:
        run, _ = runs.create_run(session, data=schemas.RunCreate(project="w", name=name))
        return run.id


@pytest.fixture
def writer(factory):  # type: ignore[no-untyped-def]
    writer = IngestWriter(factory)
    writer.start()
    yield writer
    writer.stop()


def _hold_write_lock(factory, run_id: str, release: threading.Event, held: threading.Event) -> None:  # type: ignore[no-untyped-def]
    """Keep the run locked as another writer would (SQLite: the database write lock)."""
    with session_scope(factory) as session:
        point_data.locks.lock_run_for_delete(session, run_id=run_id)
        session.execute(text("UPDATE runs SET notes = 'held' WHERE id = :id"), {"id": run_id})
        held.set()
        release.wait(30)


def test_requests_waiting_together_share_one_transaction(factory, writer):
    run_id = _make_run(factory, "a")
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(factory, run_id, release, held))
    holder.start()
    held.wait(10)

    async def send_all() -> list[schemas.IngestResult]:
        def send(i: int) -> asyncio.Future[schemas.IngestResult]:
            return asyncio.ensure_future(
                writer.ingest(run_id, _batch(series_body("loss", "batch", [i], [float(i)])))
            )

        # The first job is taken and waits on the lock inside its transaction; 49 more queue.
        tasks = [send(0)]
        await asyncio.sleep(0)
        await asyncio.to_thread(wait_until, lambda: writer.queued == 0, 10)
        tasks += [send(i) for i in range(1, 50)]
        await asyncio.sleep(0)
        await asyncio.to_thread(wait_until, lambda: writer.queued == 49, 10)
        release.set()
        return await asyncio.gather(*tasks)

    results = asyncio.run(send_all())
    holder.join()
    assert [r.points for r in results] == [1] * 50
    assert writer.commits == 2
    with session_scope(factory) as session:
        series = point_data.get_series(session, run_id=run_id, key="loss", scope="batch")
        assert (series.count, series.last_step) == (50, 49)
        assert point_data.check_run(session, run_id=run_id) == []


def test_a_job_for_an_unknown_run_fails_alone(factory, writer):
    run_id = _make_run(factory, "b")

    async def send() -> list[object]:
        return await asyncio.gather(
            writer.ingest(run_id, _batch(series_body("loss", "epoch", [0], [1.0]))),
            writer.ingest("no-such-run", _batch(series_body("loss", "epoch", [0], [1.0]))),
            writer.ingest(run_id, _batch(series_body("loss", "epoch", [1], [2.0]))),
            return_exceptions=True,
        )

    first, unknown, last = asyncio.run(send())
    assert isinstance(unknown, NotFound)
    assert isinstance(first, schemas.IngestResult) and isinstance(last, schemas.IngestResult)
    with session_scope(factory) as session:
        assert point_data.get_series(session, run_id=run_id, key="loss", scope="epoch").count == 2


def test_a_job_the_database_refuses_does_not_fail_its_neighbours(factory, writer):
    run_id = _make_run(factory, "c")
    # Built without validation, as a bug upstream might: an epoch no integer column holds.
    bad = schemas.PointBatchIn.model_construct(
        series=[
            schemas.SeriesPointsIn.model_construct(
                key="loss",
                scope=schemas.Scope.batch,
                steps=[5],
                values=[1.0],
                times=[1.0],
                epochs=[2**70],
            )
        ]
    )
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(factory, run_id, release, held))
    holder.start()
    held.wait(10)

    async def send() -> list[object]:
        # A first job holds the thread on the lock, so the next three are merged.
        tasks = [
            asyncio.ensure_future(
                writer.ingest(run_id, _batch(series_body("x", "epoch", [0], [0.0])))
            )
        ]
        await asyncio.sleep(0)
        await asyncio.to_thread(wait_until, lambda: writer.queued == 0, 10)
        tasks += [
            asyncio.ensure_future(
                writer.ingest(run_id, _batch(series_body("acc", "epoch", [0], [1.0])))
            ),
            asyncio.ensure_future(writer.ingest(run_id, bad)),
            asyncio.ensure_future(
                writer.ingest(run_id, _batch(series_body("acc", "epoch", [1], [2.0])))
            ),
        ]
        await asyncio.sleep(0)
        await asyncio.to_thread(wait_until, lambda: writer.queued == 3, 10)
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    _, good_first, refused, good_last = asyncio.run(send())
    holder.join()
    assert isinstance(refused, Exception) and not isinstance(refused, schemas.IngestResult)
    assert isinstance(good_first, schemas.IngestResult) and isinstance(
        good_last, schemas.IngestResult
    )
    with session_scope(factory) as session:
        assert point_data.get_series(session, run_id=run_id, key="acc", scope="epoch").count == 2
        assert point_data.check_run(session, run_id=run_id) == []


def test_a_stopped_writer_refuses_new_jobs(factory):
    writer = IngestWriter(factory)
    with pytest.raises(RuntimeError, match="not running"):
        asyncio.run(writer.ingest("x", _batch(series_body("loss", "epoch", [0], [1.0]))))


def test_a_writer_starts_again_after_a_stop(factory):
    run_id = _make_run(factory, "d")
    writer = IngestWriter(factory)
    for step in range(2):
        writer.start()
        asyncio.run(writer.ingest(run_id, _batch(series_body("loss", "epoch", [step], [1.0]))))
        writer.stop()
    with session_scope(factory) as session:
        assert point_data.get_series(session, run_id=run_id, key="loss", scope="epoch").count == 2


def test_a_job_that_waited_past_the_queue_bound_is_refused_busy_and_not_stored(factory):
    # Issue 8: the server's answer time is bounded (queue wait + lock wait), so that the
    # SDK's longer request timeout never fires while the server is about to store a batch.
    run_id = _make_run(factory, "e")
    writer = IngestWriter(factory, max_queue_wait_s=0.2)
    writer.start()
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(factory, run_id, release, held))
    holder.start()
    held.wait(10)

    async def send() -> list[object]:
        tasks = [
            asyncio.ensure_future(
                writer.ingest(run_id, _batch(series_body("x", "epoch", [0], [0.0])))
            )
        ]
        await asyncio.sleep(0)
        await asyncio.to_thread(wait_until, lambda: writer.queued == 0, 10)
        queued_at = time.monotonic()
        tasks += [
            asyncio.ensure_future(
                writer.ingest(run_id, _batch(series_body("late", "epoch", [s], [1.0])))
            )
            for s in range(3)
        ]
        await asyncio.sleep(0)
        await asyncio.to_thread(wait_until, lambda: writer.queued == 3, 10)
        await asyncio.to_thread(wait_until, lambda: time.monotonic() - queued_at > 0.3, 10)
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    first, *late = asyncio.run(send())
    holder.join()
    assert isinstance(first, schemas.IngestResult)
    assert all(isinstance(r, ServerBusy) for r in late), late
    assert all(
        r.retry_after_s >= 1 and "send it again" in r.detail
        for r in late
        if isinstance(r, ServerBusy)
    )
    # Refused means not stored; the same batch sent again (as the SDK does) is.
    asyncio.run(writer.ingest(run_id, _batch(series_body("x", "epoch", [1], [1.0]))))
    writer.stop()
    with session_scope(factory) as session:
        assert point_data.get_series(session, run_id=run_id, key="x", scope="epoch").count == 2
        with pytest.raises(NotFound):
            point_data.get_series(session, run_id=run_id, key="late", scope="epoch")
