"""Store-test fixtures: a migrated database (SQLite or PostgreSQL) and its sessionmaker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from fitwatch_server.db import make_engine, make_sessionmaker
from fitwatch_server.migrate import upgrade_database


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()
