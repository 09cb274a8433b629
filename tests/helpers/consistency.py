"""Check derived state against the points, and send requests at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from fitwatch_server.db import make_engine, make_sessionmaker, session_scope
from fitwatch_server.settings import Settings
from fitwatch_server.store import point_data

T = TypeVar("T")


def inconsistencies(database_url: str, run_ids: list[str]) -> dict[str, list[str]]:
    """Per run, what differs between its summaries/rollups and a scan of its points."""
    engine = make_engine(Settings(database_url=database_url).database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            found = {run_id: point_data.check_run(session, run_id=run_id) for run_id in run_ids}
            orphans = point_data.orphans(session)
    finally:
        engine.dispose()
    problems = {run_id: p for run_id, p in found.items() if p}
    if any(orphans.values()):
        problems["(orphans)"] = [f"{table}: {n} rows" for table, n in orphans.items() if n]
    return problems


def together(calls: list[Callable[[], T]], timeout: float = 60.0) -> list[T]:
    """Run every call in its own thread, released at the same moment; results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout)
            results[i] = call()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if errors:
        raise errors[0]
    return results
