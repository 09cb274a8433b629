"""Series: per-run listing with summaries, one series' points, the same keys across runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from fitwatch_server import schemas
from fitwatch_server.api.deps import (
    HubDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    WriteSessionmakerDep,
    in_transaction,
)
from fitwatch_server.api.point_responses import (
    groups_response,
    multi_series_response,
    series_points_response,
)
from fitwatch_server.errors import InvalidInput
from fitwatch_server.models import BIGINT_MAX
from fitwatch_server.store import point_data, run_groups, search
from fitwatch_server.store import runs as run_store
from fitwatch_server.store.runs import get_run, require_runs

router = APIRouter(tags=["series"])

MaxPoints = Annotated[int | None, Query(ge=3, le=1_000_000, description="downsample above this")]
StepBound = Annotated[int | None, Query(ge=0, le=BIGINT_MAX)]


@router.get("/runs/{run_id}/series", response_model=schemas.SeriesList)
def list_series(run_id: str, session: SessionDep) -> schemas.SeriesList:
    """A run's series with count, first/last step, last value, min and max."""
    get_run(session, run_id=run_id)
    return schemas.SeriesList(
        series=[point_data.series_public(s) for s in point_data.list_series(session, run_id=run_id)]
    )


@router.delete("/runs/{run_id}/series/{key:path}", status_code=204)
async def delete_series(
    run_id: str,
    key: str,
    factory: WriteSessionmakerDep,
    settings: SettingsDep,
    hub: HubDep,
    scope: schemas.Scope = schemas.Scope.epoch,
) -> None:
    """Delete one series of a run with all its points."""

    def work(session: Session) -> schemas.RunPublic:
        point_data.delete_series(session, run_id=run_id, key=key, scope=scope.value)
        run = run_store.get_run(session, run_id=run_id)
        return run_store.run_public(run, heartbeat_timeout_s=settings.heartbeat_timeout_s)

    # Watchers refetch the run's series when told the run changed.
    await hub.publish_run(await in_transaction(factory, work))


@router.get("/runs/{run_id}/series/{key:path}", response_model=schemas.SeriesPointsPublic)
def read_series(
    run_id: str,
    key: str,
    session: SessionDep,
    scope: schemas.Scope = schemas.Scope.epoch,
    start: StepBound = None,
    end: StepBound = None,
    max_points: MaxPoints = None,
) -> Response:
    """One series' points between start and end; downsampled (MinMaxLTTB) above max_points."""
    get_run(session, run_id=run_id)
    series = point_data.get_series(session, run_id=run_id, key=key, scope=scope.value)
    return series_points_response(
        point_data.read_points(session, series=series, start=start, end=end, max_points=max_points)
    )


def _csv_list(value: str, what: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise InvalidInput(f"give at least one {what}, comma-separated")
    if len(items) > 200:
        raise InvalidInput(f"at most 200 {what}s per request; received {len(items)}")
    return items


@router.get("/series/groups", response_model=schemas.SeriesGroupsPublic)
def read_groups(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    keys: Annotated[str, Query(description="comma-separated keys")],
    filter: Annotated[str, Query(description="run filter expression, see docs/api.md")] = "",
    group_by: Annotated[
        str,
        Query(description="comma-separated fields (config.seed, tags...); -config.seed: all but"),
    ] = "",
    project: str | None = None,
    scope: schemas.Scope = schemas.Scope.epoch,
    start: StepBound = None,
    end: StepBound = None,
    max_points: MaxPoints = None,
    align: Annotated[
        schemas.GroupAlign,
        Query(description="metric: keys name the metric Keras computed (accuracy for acc too)"),
    ] = schemas.GroupAlign.key,
) -> Response:
    """Runs in groups: per group and step bucket, count, mean, std, min and max (bands)."""
    parsed = run_groups.parse_group_by(group_by)
    key_list = _csv_list(keys, "key")
    runs, total = search.search_runs(
        session,
        project=principal.project_filter(project),
        filter_text=filter,
        sort="created_at",
        limit=search.MAX_LIMIT,
        offset=0,
        heartbeat_timeout_s=settings.heartbeat_timeout_s,
    )
    if total > search.MAX_LIMIT:
        raise InvalidInput(
            f"the filter matches {total} runs; groups take at most {search.MAX_LIMIT}: narrow the filter"
        )
    groups = run_groups.group_runs(runs, parsed)
    stats = point_data.group_stats(
        session,
        groups={g.label: g.run_ids for g in groups},
        keys=key_list,
        scope=scope.value,
        start=start,
        end=end,
        max_points=max_points,
        run_keys=run_groups.keys_by_metric(session, runs=runs)
        if align is schemas.GroupAlign.metric
        else None,
    )
    return groups_response(scope=scope, group_by=parsed, groups=groups, stats=stats, runs=total)


@router.get("/series", response_model=schemas.MultiSeriesPublic)
def read_many(
    session: SessionDep,
    principal: PrincipalDep,
    runs: Annotated[str, Query(description="comma-separated run ids")],
    keys: Annotated[
        str | None,
        Query(description="comma-separated keys; omitted: every key the runs logged in the scope"),
    ] = None,
    scope: schemas.Scope = schemas.Scope.epoch,
    start: StepBound = None,
    end: StepBound = None,
    max_points: MaxPoints = None,
) -> Response:
    """The same keys across several runs, for comparison (shared step buckets).

    `keys` may be left out so that the compare page can ask for the series in parallel with
    the runs (it learns the keys only from the runs' summaries)."""
    run_ids = _csv_list(runs, "run id")
    found = require_runs(session, run_ids=run_ids)
    if principal.project is not None:
        for run_id in run_ids:
            principal.require_run(run_id, found.get(run_id))
    return multi_series_response(
        point_data.read_many(
            session,
            run_ids=run_ids,
            keys=None if keys is None else _csv_list(keys, "key"),
            scope=scope.value,
            start=start,
            end=end,
            max_points=max_points,
        )
    )
