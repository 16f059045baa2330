"""The local lake: the S3 layout on a folder, with atomic partition writes.

Layout: ``<lake>/<zone>/<table>/dt=YYYY-MM-DD/data.parquet``. Every partition is exactly one Parquet
file, so replacing a partition is one ``os.replace`` of a file written beside it: a rerun for the same
date replaces, never duplicates, and a task killed mid-write leaves the old version whole (the
half-written file is a hidden ``.tmp-*`` file that no reader globs).

Landing is the exception: it holds source files as delivered (CSV), laid out as
``<lake>/landing/<source>/dt=YYYY-MM-DD/*``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

ZONES = ("landing", "raw", "quarantine", "curated", "analytics", "cleanrooms", "creative")
TABLE_ZONES = tuple(zone for zone in ZONES if zone != "landing")
PARTITION_FILE = "data.parquet"


@dataclass(frozen=True)
class Lake:
    root: Path

    @classmethod
    def from_settings(cls) -> Lake:
        from adplan.settings import get_settings

        return cls(get_settings().lake_dir)

    def zone_dir(self, zone: str) -> Path:
        if zone not in ZONES:
            raise ValueError(f"unknown lake zone {zone!r}; zones are {', '.join(ZONES)}")
        return self.root / zone

    def table_dir(self, zone: str, table: str) -> Path:
        return self.zone_dir(zone) / table

    def partition_dir(self, zone: str, table: str, dt: str) -> Path:
        return self.table_dir(zone, table) / f"dt={dt}"

    def partition_file(self, zone: str, table: str, dt: str) -> Path:
        return self.partition_dir(zone, table, dt) / PARTITION_FILE

    def landing_dir(self, source: str, dt: str) -> Path:
        return self.partition_dir("landing", source, dt)

    def partitions(self, zone: str, table: str) -> list[str]:
        """The dates of the complete partitions of a table, oldest first."""
        table_dir = self.table_dir(zone, table)
        if not table_dir.is_dir():
            return []
        return sorted(
            part.name.removeprefix("dt=")
            for part in table_dir.glob("dt=*")
            if (part / PARTITION_FILE).is_file()
        )

    def tables(self) -> list[tuple[str, str]]:
        """Every (zone, table) that has at least one complete partition."""
        found = []
        for zone in TABLE_ZONES:
            zone_dir = self.root / zone
            if zone_dir.is_dir():
                found += [
                    (zone, table_dir.name)
                    for table_dir in sorted(zone_dir.iterdir())
                    if table_dir.is_dir() and self.partitions(zone, table_dir.name)
                ]
        return found

    def write_partition(
        self,
        zone: str,
        table: str,
        dt: str,
        data: Any,
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> Path:
        """Replace one partition atomically with ``data``.

        ``data`` is a SQL query (run on ``con``), a DuckDB relation, a pyarrow Table or a pandas
        DataFrame. Returns the partition file's path.
        """
        if zone == "landing":
            raise ValueError("landing holds delivered files; write tables to another zone")
        target = self.partition_file(zone, table, dt)
        with atomic_file(target) as tmp:
            _write_parquet(data, tmp, con)
        return target


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``target``; move it into place only on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{uuid.uuid4().hex}-{target.name}"
    try:
        yield tmp
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``target`` whole on success (for multi-file outputs).

    The swap is two renames; a crash between them leaves the previous version at ``.old-*`` beside
    the target, which the next write removes.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".tmp-*-{target.name}"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = target.parent / f".tmp-{uuid.uuid4().hex}-{target.name}"
    tmp.mkdir()
    try:
        yield tmp
        old = target.parent / f".old-{uuid.uuid4().hex}-{target.name}"
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_parquet(data: Any, path: Path, con: duckdb.DuckDBPyConnection | None) -> None:
    import duckdb

    options = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
    if isinstance(data, str):
        if con is None:
            raise ValueError("a SQL query needs the DuckDB connection it runs on")
        con.execute(f"COPY ({data}) TO '{_sql_path(path)}' {options}")
    elif isinstance(data, duckdb.DuckDBPyRelation):
        data.write_parquet(str(path), compression="zstd")
    else:
        scratch = duckdb.connect()
        try:
            scratch.register("frame", data)
            scratch.execute(f"COPY (SELECT * FROM frame) TO '{_sql_path(path)}' {options}")
        finally:
            scratch.close()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
