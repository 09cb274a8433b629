"""repair run documents stored before issue 8's limits: bare NaN/Infinity, deep nesting

Revision ID: 0004_repair_run_documents
Revises: 0003
Create Date: 2026-12-02

Before the API checked configs and summaries (`fitwatch_server/store/documents.py`), two kinds
of run could be stored that break every listing afterwards:

- SQLite: a bare NaN/Infinity was written as invalid JSON; SQLite's JSON functions then fail
  for every row, so each `config.*` / `summary.*` filter or sort was a 500. They become the
  names "NaN", "Infinity", "-Infinity", as the API now stores them.
- Both backends: a document nested deeper than the responses can serialise (about 250
  levels) made every response carrying the run a 500. Whatever lies deeper than 128 levels
  becomes a JSON string of itself: nothing is lost, and the run can be listed again.

A data repair only: no schema change. Rows that need nothing are not written.
"""

from __future__ import annotations

import json
import math
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004_repair_run_documents"
down_revision = "0003"
branch_labels = None
depends_on = None

# `Settings.MAX_DOCUMENT_DEPTH`, copied: a migration must not change when the app's code does.
MAX_DEPTH = 128
_NAMES = {math.inf: "Infinity", -math.inf: "-Infinity"}


def _repaired(document: Any) -> tuple[Any, bool]:
    """(the document with non-finite floats named and deep parts as text, whether it changed)."""
    if not isinstance(document, dict):
        return document, False
    changed = False
    root: dict[str, Any] = {}
    stack: list[tuple[Any, Any, int]] = [(document, root, 1)]
    while stack:
        source, target, depth = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in items:
            copy: Any = value
            if isinstance(value, dict | list) and depth >= MAX_DEPTH:
                copy, changed = json.dumps(value), True
            elif isinstance(value, dict):
                copy = {}
                stack.append((value, copy, depth + 1))
            elif isinstance(value, list):
                copy = [None] * len(value)
                stack.append((value, copy, depth + 1))
            elif isinstance(value, float) and not math.isfinite(value):
                copy, changed = ("NaN" if value != value else _NAMES[value]), True
            target[key] = copy
    return root, changed


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    # Raw SQL: SQLite hands back the stored text (Python's json reads bare NaN), psycopg
    # hands back jsonb already decoded.
    select = sa.text("SELECT id, config, summary FROM runs").execution_options(yield_per=500)
    updates = []  # only the rows that change: almost always none, so they fit in memory
    for run_id, config, summary in bind.execute(select):
        config = json.loads(config) if isinstance(config, str) else config
        summary = json.loads(summary) if isinstance(summary, str) else summary
        new_config, config_changed = _repaired(config)
        new_summary, summary_changed = _repaired(summary)
        if config_changed or summary_changed:
            updates.append(
                {
                    "id": run_id,
                    "config": json.dumps(new_config, allow_nan=False),
                    "summary": json.dumps(new_summary, allow_nan=False),
                }
            )
    if not updates:
        return
    cast = "CAST({} AS JSONB)" if postgres else "{}"
    bind.execute(
        sa.text(
            f"UPDATE runs SET config = {cast.format(':config')}, "
            f"summary = {cast.format(':summary')} WHERE id = :id"
        ),
        updates,
    )


def downgrade() -> None:
    # The repaired documents are valid and mean the same; there is nothing to undo.
    pass
