"""A real ``kezek serve`` (granian, 2 workers) on a free port over the test's own database and Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from loadtest_support import Served, serve


@pytest.fixture
def served(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Served]:
    with serve(database_url, redis_url, tmp_path) as service:
        yield service
