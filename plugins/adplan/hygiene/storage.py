"""Where hygiene reads landing files and writes partitions: the local lake, or the same layout on S3.

The engine works on both through one small interface. Locally it is ``adplan.lake.Lake`` (atomic
partition writes by rename). On AWS (the Glue job) it is ``S3Lake``: DuckDB reads and writes ``s3://``
paths itself through its httpfs extension, so the engine needs no boto3. Each partition is one Parquet
object, and an S3 object appears whole when its upload completes, so a rerun replaces a partition and a
failed run leaves the previous one readable, as on the local lake.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from adplan.lake import PARTITION_FILE, Lake

if TYPE_CHECKING:
    import duckdb

PARQUET_OPTIONS = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"


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


@dataclass(frozen=True)
class S3Lake:
    """The lake layout under an S3 prefix, e.g. ``S3Lake("s3://adplan-lake")``."""

    root: str

    def __post_init__(self) -> None:
        if not self.root.startswith("s3://"):
            raise ValueError(f"an S3 lake root starts with s3://, not {self.root!r}")
        object.__setattr__(self, "root", self.root.rstrip("/"))

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        # Credentials come from the Glue job's role through the AWS credential chain.
        con.execute("INSTALL httpfs; LOAD httpfs; INSTALL aws; LOAD aws")
        con.execute("CREATE SECRET IF NOT EXISTS adplan_s3 (TYPE s3, PROVIDER credential_chain)")

    def landing_files(self, source: str, dt: str, con: duckdb.DuckDBPyConnection) -> list[str]:
        pattern = f"{self.root}/landing/{source}/dt={dt}/*"
        rows = con.execute("SELECT file FROM glob(?) ORDER BY file", [pattern]).fetchall()
        return [row[0] for row in rows if not row[0].rsplit("/", 1)[-1].startswith(".")]

    def relative(self, location: str) -> str:
        return location.removeprefix(self.root + "/")

    def partition_location(self, zone: str, table: str, dt: str) -> str:
        return f"{self.root}/{zone}/{table}/dt={dt}/{PARTITION_FILE}"

    def partition_exists(self, zone: str, table: str, dt: str, con: duckdb.DuckDBPyConnection) -> bool:
        location = self.partition_location(zone, table, dt)
        return bool(con.execute("SELECT file FROM glob(?)", [location]).fetchall())

    def write_partition(
        self, zone: str, table: str, dt: str, query: str, con: duckdb.DuckDBPyConnection
    ) -> str:
        location = self.partition_location(zone, table, dt)
        con.execute(f"COPY ({query}) TO {sql_literal(location)} {PARQUET_OPTIONS}")
        return location


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
