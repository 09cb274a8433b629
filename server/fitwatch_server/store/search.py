"""Run search: the filter AST (from `query_lang`) to SQLAlchemy expressions, sorting, pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import KeyedColumnElement

from fitwatch_server import models
from fitwatch_server.errors import InvalidFilter
from fitwatch_server.query_lang import (
    BoolOp,
    Compare,
    Field,
    InList,
    Literal,
    Node,
    Not,
    parse_filter,
    parse_sort,
)
from fitwatch_server.schemas import Scope
from fitwatch_server.store import point_data

MAX_LIMIT = 1000
TEXT_ATTRIBUTES = ("name", "notes", "id", "project")
TIME_ATTRIBUTES = ("created_at", "ended_at", "deleted_at")


class _Compiler:
    def __init__(self, *, text: str, dialect: str, heartbeat_timeout_s: float) -> None:
        self.text = text
        self.dialect = dialect
        self.now = datetime.now(UTC)
        self.crash_cutoff = self.now - timedelta(seconds=heartbeat_timeout_s)

    def fail(self, message: str, position: int) -> InvalidFilter:
        return InvalidFilter(message, position=position, text=self.text)

    # -- fields ---------------------------------------------------------------------------
    def status(self) -> ColumnElement[Any]:
        return case(
            (
                and_(models.Run.status == "running", models.Run.heartbeat_at < self.crash_cutoff),
                "crashed",
            ),
            else_=models.Run.status,
        )

    def duration(self) -> ColumnElement[Any]:
        """Seconds from the start to the end (to now while a run has not ended)."""
        end = func.coalesce(models.Run.ended_at, literal(self.now))
        if self.dialect == "sqlite":
            return (func.julianday(end) - func.julianday(models.Run.created_at)) * 86400.0
        return func.extract("epoch", end - models.Run.created_at)

    def attribute(self, field: Field) -> ColumnElement[Any]:
        name = field.path[0]
        if name == "status":
            return self.status()
        if name == "project":
            return models.Project.name.expression
        if name == "duration":
            return self.duration()
        if name in ("name", "notes", "id") + TIME_ATTRIBUTES:
            column: ColumnElement[Any] = getattr(models.Run, name)
            return column
        raise self.fail(
            f"unknown field {name!r}; use name, status, project, notes, id, created_at, "
            "ended_at, deleted_at, duration, tags, config.<key>, summary.<key> or min/max/last/count(<metric>)",
            field.position,
        )

    def aggregate(self, field: Field) -> ColumnElement[Any]:
        scope = field.scope or Scope.epoch.value
        if scope not in Scope.__members__:
            raise self.fail(
                f"unknown scope {scope!r}; use one of {', '.join(Scope.__members__)}",
                field.position,
            )
        assert field.aggregate is not None
        return point_data.aggregate_subquery(
            field.aggregate, key=field.path[0], scope=scope, run_id=models.Run.id
        )

    def json_column(self, field: Field) -> KeyedColumnElement[Any]:
        column: KeyedColumnElement[Any] = getattr(models.Run, field.path[0])
        return column

    def json_number(self, field: Field) -> ColumnElement[Any]:
        column, path = self.json_column(field), field.path[1:]
        if self.dialect == "sqlite":
            json_path = "$" + "".join(f'."{p}"' for p in path)
            return case(
                (
                    func.json_type(column, json_path).in_(("integer", "real")),
                    func.json_extract(column, json_path),
                )
            )
        # PostgreSQL: cast only what is a JSON number, so a string never makes the cast fail.
        return case(
            (
                func.jsonb_typeof(column.op("#>")(_pg_path(path))) == "number",
                cast(column.op("#>>")(_pg_path(path)), Float),
            )
        )

    def json_text(self, field: Field) -> ColumnElement[Any]:
        column, path = self.json_column(field), field.path[1:]
        if self.dialect == "sqlite":
            json_path = "$" + "".join(f'."{p}"' for p in path)
            return case(
                (func.json_type(column, json_path) == "text", func.json_extract(column, json_path))
            )
        return case(
            (
                func.jsonb_typeof(column.op("#>")(_pg_path(path))) == "string",
                column.op("#>>")(_pg_path(path)),
            )
        )

    def json_bool(self, field: Field) -> ColumnElement[Any]:
        column, path = self.json_column(field), field.path[1:]
        if self.dialect == "sqlite":
            json_path = "$" + "".join(f'."{p}"' for p in path)
            return func.json_type(column, json_path)
        return column.op("#>>")(_pg_path(path))

    # -- comparisons ----------------------------------------------------------------------
    def compare_column(self, column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
        if op == "~":
            return column.ilike(f"%{_escape_like(str(value))}%", escape="\\")
        if op == "!~":
            return not_(column.ilike(f"%{_escape_like(str(value))}%", escape="\\"))
        operators = {
            "=": column.__eq__,
            "!=": column.__ne__,
            "<": column.__lt__,
            "<=": column.__le__,
            ">": column.__gt__,
            ">=": column.__ge__,
        }
        result: ColumnElement[bool] = operators[op](value)
        return result

    def tags(self, op: str, values: tuple[Literal, ...], position: int) -> ColumnElement[bool]:
        if op not in ("=", "!=", "in", "not in", "~", "!~"):
            raise self.fail(f"tags support =, !=, ~, !~, in and not in; received {op!r}", position)
        tag = models.RunTag
        where = [tag.run_id == models.Run.id]
        if op in ("~", "!~"):
            where.append(tag.tag.ilike(f"%{_escape_like(str(values[0]))}%", escape="\\"))
        else:
            where.append(tag.tag.in_([str(v) for v in values]))
        found = exists(select(tag.tag).where(*where))
        return not_(found) if op in ("!=", "not in", "!~") else found

    def typed_field(self, field: Field, sample: Literal, op: str) -> tuple[ColumnElement[Any], Any]:
        """The SQL expression for `field` and the literal converted to match it."""
        if field.aggregate:
            if isinstance(sample, bool) or not isinstance(sample, int | float):
                raise self.fail(
                    f"{field.aggregate}({field.path[0]}) is a number; compare it with a number",
                    field.position,
                )
            return self.aggregate(field), sample
        root = field.path[0]
        if root in ("config", "summary"):
            if len(field.path) == 1:
                raise self.fail(f"name a key inside {root}, e.g. {root}.learning_rate", field.position)
            if isinstance(sample, bool):
                if op not in ("=", "!="):
                    raise self.fail("true/false support only = and !=", field.position)
                return self.json_bool(field), None
            if isinstance(sample, int | float) and op not in ("~", "!~"):
                return self.json_number(field), sample
            return self.json_text(field), sample
        column = self.attribute(field)
        if root in TIME_ATTRIBUTES:
            try:
                parsed = datetime.fromisoformat(str(sample))
            except ValueError:
                raise self.fail(
                    f"{root} compares with an ISO date such as \"2026-01-31\" or "
                    f"\"2026-01-31T12:00:00\"; received {sample!r}",
                    field.position,
                )
            return column, parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if root == "duration" and (isinstance(sample, bool) or not isinstance(sample, int | float)):
            raise self.fail("duration is a number of seconds; compare it with a number", field.position)
        if isinstance(sample, bool) or (
            root in TEXT_ATTRIBUTES + ("status",) and not isinstance(sample, str)
        ):
            raise self.fail(f"{root} is text; compare it with a quoted string", field.position)
        return column, sample

    def compile(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, BoolOp):
            items = [self.compile(item) for item in node.items]
            return and_(*items) if node.op == "and" else or_(*items)
        if isinstance(node, Not):
            return not_(self.compile(node.item))
        if isinstance(node, InList):
            op = "not in" if node.negated else "in"
            if node.field.path == ("tags",) and not node.field.aggregate:
                return self.tags(op, node.values, node.position)
            column, _ = self.typed_field(node.field, node.values[0], "=")
            converted = [self.typed_field(node.field, v, "=")[1] for v in node.values]
            return column.not_in(converted) if node.negated else column.in_(converted)
        assert isinstance(node, Compare)
        if node.field.path == ("tags",) and not node.field.aggregate:
            return self.tags(node.op, (node.value,), node.position)
        if node.op in ("~", "!~") and not isinstance(node.value, str):
            raise self.fail("~ and !~ match text; give a quoted string", node.position)
        column, value = self.typed_field(node.field, node.value, node.op)
        if isinstance(node.value, bool):
            # json_type() on SQLite and #>> on PostgreSQL both spell booleans 'true'/'false'.
            matched = column == ("true" if node.value else "false")
            return matched if node.op == "=" else not_(matched)
        return self.compare_column(column, node.op, value)

    def sort_columns(self, field: Field) -> list[ColumnElement[Any]]:
        if field.aggregate:
            return [self.aggregate(field)]
        if field.path[0] in ("config", "summary"):
            # Numbers in numeric order, then text values in text order (a config key may hold
            # either: `optimizer` is a name, `learning_rate` a number).
            return [self.json_number(field), self.json_text(field)]
        if field.path == ("tags",):
            raise self.fail("runs cannot be sorted by tags", field.position)
        return [self.attribute(field)]


def _pg_path(path: tuple[str, ...]) -> ColumnElement[Any]:
    return literal(list(path), type_=ARRAY(Text))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_runs(
    session: Session,
    *,
    project: str | None,
    filter_text: str,
    sort: str,
    limit: int,
    offset: int,
    heartbeat_timeout_s: float,
    trashed: bool = False,
) -> tuple[list[models.Run], int]:
    """Runs matching `filter_text` in `project` (all projects if None), sorted, one page:
    the runs outside the trash, or (`trashed`) the ones in it."""
    dialect = session.get_bind().dialect.name
    compiler = _Compiler(text=filter_text, dialect=dialect, heartbeat_timeout_s=heartbeat_timeout_s)
    query = select(models.Run).join(models.Project, models.Run.project_id == models.Project.id)
    if project is not None:
        query = query.where(models.Project.name == project)
    query = query.where(models.Run.deleted_at.is_not(None) if trashed else models.Run.deleted_at.is_(None))
    node = parse_filter(filter_text)
    query = query.where(compiler.compile(node) if node is not None else true())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0

    sort_compiler = _Compiler(text=sort, dialect=dialect, heartbeat_timeout_s=heartbeat_timeout_s)
    order = []
    for field, descending in parse_sort(sort or "-created_at"):
        for column in sort_compiler.sort_columns(field):
            order.append(column.desc().nulls_last() if descending else column.asc().nulls_last())
    order.append(models.Run.id.asc())
    runs = list(session.scalars(query.order_by(*order).limit(limit).offset(offset)).unique())
    return runs, total

