"""Where hygiene reads landing files and writes partitions: the local lake, or the same layout on S3.

The engine works on both through one small interface. Locally it is ``adplan.lake.Lake`` (atomic
partition writes by rename). On AWS (the Glue job) it is ``adplan.lake.S3Lake``, the lake every engine
uses on S3: DuckDB reads and writes ``s3://`` paths itself once ``prepare`` has run on its connection
(see ``adplan.lake`` and ``adplan.s3files``). Each partition is one Parquet object, and an S3 object
appears whole when its upload completes, so a rerun replaces a partition and a failed run leaves the
previous one readable, as on the local lake.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from adplan.lake import PARQUET_OPTIONS, Lake, S3Lake

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "PARQUET_OPTIONS",
    "LocalStorage",
    "S3Lake",
    "Storage",
    "as_storage",
    "sql_identifier",
    "sql_literal",
]


class Storage(Protocol):
    def prepare(self, con: duckdb.DuckDBPyConnection) -> None: ...

    def landing_files(self, source: str, dt: str, con: duckdb.DuckDBPyConnection) -> list[str]: ...

    def relative(self, location: str) -> str: ...

    def partition_location(self, zone: str, table: str, dt: str) -> str: ...

    def partition_exists(self, zone: str, table: str, dt: str, con: duckdb.DuckDBPyConnection) -> bool: ...

    def write_partition(
        self, zone: str, table: str, dt: str, query: str, con: duckdb.DuckDBPyConnection
    ) -> str: ...


@dataclass(frozen=True)
class LocalStorage:
    lake: Lake

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Nothing to set up for local files."""

    def landing_files(self, source: str, dt: str, con: duckdb.DuckDBPyConnection) -> list[str]:
        folder = self.lake.landing_dir(source, dt)
        if not folder.is_dir():
            return []
        # Hidden files are partial uploads or editor droppings, never deliveries.
        return sorted(
            str(path) for path in folder.iterdir() if path.is_file() and not path.name.startswith(".")
        )

    def relative(self, location: str) -> str:
        return Path(location).relative_to(self.lake.root).as_posix()

    def partition_location(self, zone: str, table: str, dt: str) -> str:
        return str(self.lake.partition_file(zone, table, dt))

    def partition_exists(self, zone: str, table: str, dt: str, con: duckdb.DuckDBPyConnection) -> bool:
        return self.lake.partition_file(zone, table, dt).is_file()

    def write_partition(
        self, zone: str, table: str, dt: str, query: str, con: duckdb.DuckDBPyConnection
    ) -> str:
        return str(self.lake.write_partition(zone, table, dt, query, con))


def as_storage(lake: Lake | S3Lake | Storage) -> Storage:
    """The storage behind a lake object: ``Lake`` (local folder) or ``S3Lake``."""
    if isinstance(lake, Lake):
        return LocalStorage(lake)
    if isinstance(lake, (S3Lake, LocalStorage)):
        return lake
    raise TypeError(f"expected a Lake or an S3Lake, not {type(lake).__name__}")


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
