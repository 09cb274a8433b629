"""The Python query API: search runs, read their full history, export several at once.

`fitwatch.Api(url, token=)` reads what the server stores, through its REST API (so a read
token is enough). Nothing here is downsampled: `history()` and `export()` ask for every
point. pandas is imported only by `to_pandas()` and `history()` (the `pandas` extra), so the
SDK stays light for training environments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fitwatch import wire
from fitwatch.client import Client
from fitwatch.settings import ClientSettings

if TYPE_CHECKING:
    import pandas

PAGE_SIZE = 1000  # the server's largest page (store/search.py MAX_LIMIT)
PANDAS_MISSING = "this needs pandas: pip install 'fitwatch[pandas]'"


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(PANDAS_MISSING) from None
    return pandas


def flatten(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"<prefix>.a.b": 1}`; lists and scalars are leaves."""
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    else:
        out[prefix] = value
    return out


def _value(raw: Any) -> float:
    return math.nan if raw is None else wire.decode_value(raw)


@dataclass
class ApiRun:
    """One run as the server stores it; `history()` reads its points."""

    id: str
    project: str
    name: str
    status: str
    config: dict[str, Any]
    summary: dict[str, Any]
    tags: list[str]
    notes: str
    created_at: str
    ended_at: str | None
    series: list[dict[str, Any]] | None = None
    _api: Api | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any], api: Api) -> ApiRun:
        return cls(
            id=body["id"],
            project=body["project"],
            name=body["name"],
            status=body["status"],
            config=dict(body.get("config") or {}),
            summary=dict(body.get("summary") or {}),
            tags=list(body.get("tags") or []),
            notes=body.get("notes", ""),
            created_at=body["created_at"],
            ended_at=body.get("ended_at"),
            series=body.get("series"),
            _api=api,
        )

    def row(self) -> dict[str, Any]:
        """The run as one flat row: attributes, `config.<path>`, `summary.<path>`."""
        out: dict[str, Any] = {
            "id": self.id,
            "project": self.project,
            "name": self.name,
            "status": self.status,
            "created_at": self.created_at,
            "ended_at": self.ended_at,
            "tags": list(self.tags),
        }
        flatten("config", self.config, out)
        flatten("summary", self.summary, out)
        return out

    def keys(self, scope: str = "epoch") -> list[str]:
        """The keys this run has in `scope`."""
        series = (
            self.series if self.series is not None else self._require_api().get_run(self.id).series
        )
        return sorted(s["key"] for s in series or [] if s["scope"] == scope)

    def points(self, key: str, scope: str = "epoch") -> dict[str, list[Any]]:
        """Every point of one series: `{"steps", "values", "times", "epochs"}` (values as floats)."""
        body = self._require_api().client.get_series(self.id, key, scope=scope)
        return {
            "steps": body["steps"],
            "values": [_value(v) for v in body["values"]],
            "times": body["times"],
            "epochs": body.get("epochs"),
        }

    def history(self, keys: Sequence[str] | None = None, scope: str = "epoch") -> pandas.DataFrame:
        """The run's series as a DataFrame: index `step`, one column per key (NaN where a key
        has no point at a step), every point, never downsampled.

        Args:
            keys: the keys to read; default every key of the run in `scope`.
            scope: `"epoch"` (default, equal to `History.history`), `"batch"`, `"eval"`...

        Example:

        ```python
        run = fitwatch.Api("http://127.0.0.1:8000").runs(project="digits")[0]
        run.history(["loss", "val_loss"]).plot()
        ```
        """
        pd = _pandas()
        if scope not in wire.SCOPES:
            raise ValueError(f"scope must be one of {wire.SCOPES}. Received: scope={scope!r}")
        if isinstance(keys, str):
            raise ValueError(
                f"keys must be a list of keys, not one string. Received: keys={keys!r}"
            )
        wanted = list(keys) if keys is not None else self.keys(scope)
        columns = {}
        for key in wanted:
            data = self.points(key, scope)
            columns[key] = pd.Series(
                data["values"], index=pd.Index(data["steps"], name="step"), dtype="float64"
            )
        frame = pd.DataFrame(columns) if columns else pd.DataFrame(index=pd.Index([], name="step"))
        frame.index.name = "step"
        return frame.sort_index()

    def _require_api(self) -> Api:
        if self._api is None:
            raise ValueError("this run was not read through a fitwatch.Api")
        return self._api


class Runs(list[ApiRun]):
    """The runs a search found, in the server's order; `to_pandas()` gives one row per run."""

    def to_pandas(self) -> pandas.DataFrame:
        """One row per run: attributes, config flattened to `config.<path>` columns, the summary
        to `summary.<path>` columns."""
        pd = _pandas()
        return pd.DataFrame([run.row() for run in self])


class Api:
    """Read runs and their points from a fitwatch server.

    Args:
        url: the server, default `FITWATCH_URL`, else `http://127.0.0.1:8000`.
        token: a token (read scope is enough), default `FITWATCH_TOKEN`.

    Example:

    ```python
    api = fitwatch.Api("http://127.0.0.1:8000")
    runs = api.runs(filter="config.lr < 0.01 and status = 'finished'", sort="-max(val_accuracy)")
    table = runs.to_pandas()
    api.export(runs, "runs.csv")
    ```
    """

    def __init__(self, url: str | None = None, token: str | None = None, **settings: Any) -> None:
        client_settings = ClientSettings.load(url=url, token=token)
        if settings:
            client_settings = replace(client_settings, **settings)
        self.settings = client_settings
        self.client = Client(client_settings)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def runs(
        self,
        filter: str = "",  # noqa: A002 - the server calls it `filter`
        sort: str = "-created_at",
        project: str | None = None,
        limit: int | None = None,
    ) -> Runs:
        """Runs matching the server's filter language (docs/api.md), sorted; all pages.

        Raises:
            fitwatch.errors.RejectedError: a malformed filter (its message points at the error).
        """
        found = Runs()
        offset = 0
        while limit is None or len(found) < limit:
            page = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(found))
            params: dict[str, Any] = {
                "filter": filter,
                "sort": sort,
                "limit": page,
                "offset": offset,
            }
            if project is not None:
                params["project"] = project
            body = self.client.list_runs(params)
            found.extend(ApiRun.from_json(r, self) for r in body["runs"])
            offset += len(body["runs"])
            if not body["runs"] or offset >= body["total"]:
                break
        return found

    def get_run(self, run_id: str) -> ApiRun:
        """One run, with its series summaries."""
        return ApiRun.from_json(self.client.get_run(run_id), self)

    def export(self, runs: Iterable[ApiRun | str], path: str | Path) -> int:
        """Write every point of `runs` into one CSV file, streamed; returns the number of points.

        Columns: `run_id,key,scope,step,epoch,value,wall_time` (NaN/Inf by name, as the
        server's export). Each run is streamed from the server line by line and written out
        as it comes: neither the file nor a run is ever held in memory, and nothing is
        downsampled.
        """
        target = Path(path)
        count = 0
        with open(target, "w", encoding="utf-8", newline="") as handle:
            handle.write("run_id,key,scope,step,epoch,value,wall_time\n")
            for run in runs:
                run_id = run.id if isinstance(run, ApiRun) else str(run)
                lines: Iterator[str] = self.client.export_lines(run_id)
                next(lines, None)  # the run's own header
                for line in lines:
                    if line:
                        # Run ids are [A-Za-z0-9_-]: safe in CSV without quoting.
                        handle.write(f"{run_id},{line}\n")
                        count += 1
        return count
