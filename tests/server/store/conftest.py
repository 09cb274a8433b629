"""Store fixtures: sessions on a migrated database of each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from fitwatch_server.db import make_engine, make_write_sessionmaker
from fitwatch_server.migrate import upgrade_engine


@pytest.fixture
def factory(settings) -> Iterator[sessionmaker[Session]]:  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    upgrade_engine(engine)
    yield make_write_sessionmaker(engine)
    engine.dispose()
