"""Point data: the one owner of the `series` (with their summaries), `points` and
`point_rollups` tables. Nothing outside this package writes, reads or deletes them.

    ingest.py    merged batches → points, rollups and summaries in one transaction
    writer.py    the per-process writer thread that merges concurrent requests (group commit)
    summary.py   the summary fields, declared once, and how they merge and are rebuilt
    rollups.py   per-bucket min/max/NaN kept on ingest, read for downsampling
    reads.py     listing, range reads with downsampling, multi-run reads, export rows
    groups.py    statistics across the runs of a group per step bucket (bands)
    deletes.py   a run's or a series' data, all of it
    locks.py     the run lock every writer takes first
    sqlite_rows.py  SQLite: the ingest's statements on the driver cursor, rows many per statement
    scan.py      recompute summaries and rollups from the points (consistency checks)
"""

from __future__ import annotations

from fitwatch_server.store.point_data.deletes import (
    Freed,
    delete_run_data,
    delete_runs_data,
    delete_series,
)
from fitwatch_server.store.point_data.groups import GroupStats, KeyStats, group_stats
from fitwatch_server.store.point_data.ingest import IngestJob, ingest_jobs, ingest_points
from fitwatch_server.store.point_data.reads import (
    aggregate_subquery,
    export_rows,
    get_series,
    list_series,
    read_many,
    read_points,
    series_by_run,
    series_public,
)
from fitwatch_server.store.point_data.scan import check_run, orphans

__all__ = [
    "Freed",
    "GroupStats",
    "IngestJob",
    "KeyStats",
    "aggregate_subquery",
    "check_run",
    "delete_run_data",
    "delete_runs_data",
    "delete_series",
    "export_rows",
    "get_series",
    "group_stats",
    "ingest_jobs",
    "ingest_points",
    "list_series",
    "orphans",
    "read_many",
    "read_points",
    "series_by_run",
    "series_public",
]
