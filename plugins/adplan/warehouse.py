"""The warehouse: DuckDB views over the lake's Parquet partitions, one view per table.

Tasks read through ``Warehouse.connect()``, an in-process DuckDB whose views are built from the lake's
folders, so concurrent tasks never contend for a database file. ``refresh_catalog()`` writes the same
views into ``$ADPLAN_HOME/warehouse.duckdb`` for people and tools (``adplan sql``, the DuckDB CLI);
it runs under a file lock after each write.

The lake may be local (``Lake``) or on S3 (``S3Lake``): ``Warehouse.at(location)`` gives the warehouse
of either, the same views over ``s3://`` globs. An S3 lake's catalog is the Glue Data Catalog (its
crawler), so that warehouse has no catalog file and ``refresh_catalog`` does nothing.

Views expose ``dt`` as VARCHAR, as Athena's partition column is a string.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from adplan.lake import Lake, S3Lake, lake_at


@dataclass(frozen=True)
class Warehouse:
    lake: Lake | S3Lake
    catalog_path: Path | None = None

    @classmethod
    def from_settings(cls) -> Warehouse:
        from adplan.settings import get_settings

        settings = get_settings()
        return cls(Lake(settings.lake_dir), settings.home / "warehouse.duckdb")

    @classmethod
    def at(cls, location: str | Path | None = None) -> Warehouse:
        """The warehouse over the lake at ``location`` (``s3://...`` or a folder; None: the target's).

        The settings' local lake keeps its catalog file; another folder or an S3 lake has none.
        """
        from adplan.settings import get_settings

        lake = lake_at(location)
        if isinstance(lake, Lake) and lake.root == get_settings().lake_dir:
            return cls.from_settings()
        return cls(lake, None)

    def view_sql(self, zone: str, table: str) -> str:
        files = self.lake.table_glob(zone, table).replace("'", "''")
        return (
            f'CREATE OR REPLACE VIEW "{table}" AS SELECT * FROM read_parquet('
            f"'{files}', hive_partitioning = true, hive_types = {{'dt': 'VARCHAR'}}, union_by_name = true)"
        )

    def attach_views(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """Create a view for every lake table on ``con``; returns the table names."""
        names = []
        for zone, table in self.lake.tables():
            con.execute(self.view_sql(zone, table))
            names.append(table)
        return names

    def connect(self, threads: int | None = None) -> duckdb.DuckDBPyConnection:
        """A fresh in-memory connection with every lake table as a view."""
        config = {"threads": threads} if threads else {}
        con = duckdb.connect(config=config)
        try:
            self.lake.prepare(con)
            self.attach_views(con)
        except BaseException:
            con.close()
            raise
        return con

    def refresh_catalog(self) -> None:
        """Rewrite the catalog file's views to match the lake (nothing to do without a catalog file)."""
        if self.catalog_path is None:
            return
        self.catalog_path.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.catalog_path.with_suffix(".lock")):
            con = _connect_with_retry(self.catalog_path)
            try:
                existing = {
                    row[0]
                    for row in con.execute(
                        "SELECT view_name FROM duckdb_views() WHERE NOT internal"
                    ).fetchall()
                }
                current = set(self.attach_views(con))
                for gone in sorted(existing - current):
                    con.execute(f'DROP VIEW IF EXISTS "{gone}"')
            finally:
                con.close()

    def query(self, sql: str) -> duckdb.DuckDBPyRelation:
        return self.connect().sql(sql)


def refresh_catalog_job(ds: str, zone: str = "", **_) -> dict[str, object]:
    """The local ``catalog_refresh`` step: the catalog file's views match the lake (all zones)."""
    warehouse = Warehouse.from_settings()
    warehouse.refresh_catalog()
    return {"catalog": str(warehouse.catalog_path), "tables": len(warehouse.lake.tables())}


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _connect_with_retry(path: Path, attempts: int = 50) -> duckdb.DuckDBPyConnection:
    # A person may hold the catalog open read-only (adplan sql); wait for them rather than fail the task.
    for attempt in range(attempts):
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")
