"""Fixtures for the attribution engine tests."""

from __future__ import annotations

import duckdb
import pytest
from attribution_world import small_world


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = small_world()
    yield connection
    connection.close()
