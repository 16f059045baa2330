"""The lake: one layout on a local folder (``Lake``) or under an S3 prefix (``S3Lake``), one interface.

Layout: ``<lake>/<zone>/<table>/dt=YYYY-MM-DD/data.parquet``. Every partition is exactly one Parquet
file, so a rerun for the same date replaces it, never duplicates it. Locally a partition is written
beside its place and moved in with one ``os.replace`` (a task killed mid-write leaves the old version
whole; the half-written file is a hidden ``.tmp-*`` file that no reader globs). On S3 a partition is one
object, which appears whole when its upload completes (``adplan.s3files``).

Landing is the exception: it holds source files as delivered (CSV), laid out as
``<lake>/landing/<source>/dt=YYYY-MM-DD/*``.

Both lakes give the jobs the same few things: ``prepare(con)`` (let a DuckDB connection read and write
the lake's paths), ``table_glob`` (what a warehouse view reads), ``tables``/``partitions``,
``write_partition``, ``write_bytes`` (one file, e.g. a model) and ``publish_directory`` (a folder of
files that replaces the previous one, e.g. an activation export). ``lake_at`` picks one from a location.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

ZONES = ("landing", "raw", "quarantine", "curated", "analytics", "cleanrooms", "creative")
TABLE_ZONES = tuple(zone for zone in ZONES if zone != "landing")
PARTITION_FILE = "data.parquet"
PARQUET_OPTIONS = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"


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

    # --- the interface shared with S3Lake -------------------------------------------------------------

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Nothing to set up for local files."""

    def location(self, *parts: str) -> str:
        return str(self.root.joinpath(*parts))

    def table_glob(self, zone: str, table: str) -> str:
        return str(self.table_dir(zone, table) / "dt=*" / PARTITION_FILE)

    def relative(self, location: str) -> str:
        return Path(location).relative_to(self.root).as_posix()

    def write_bytes(self, relative: str, data: bytes) -> str:
        """Replace the file at ``relative`` (a path inside the lake) atomically; returns its location."""
        target = self.root / relative
        with atomic_file(target) as tmp:
            tmp.write_bytes(data)
        return str(target)

    @contextlib.contextmanager
    def publish_directory(self, relative: str, last: Sequence[str] = ()) -> Iterator[Path]:
        """Yield an empty local folder; on success its files replace the folder at ``relative`` whole."""
        del last  # the local swap is atomic: no file needs to go last
        with atomic_directory(self.root / relative) as staging:
            yield staging


@dataclass(frozen=True)
class S3Lake:
    """The lake layout under an S3 prefix, e.g. ``S3Lake("s3://adplan-lake")``.

    DuckDB reads and writes its ``s3://`` paths through ``prepare(con)``: with DuckDB's httpfs and aws
    extensions when they are installed (never downloaded at run time), otherwise through ``S3Files``,
    boto3 registered as a DuckDB file system. Listing and file uploads use boto3 directly.
    """

    root: str
    _clients: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        if not self.root.startswith("s3://"):
            raise ValueError(f"an S3 lake root starts with s3://, not {self.root!r}")
        object.__setattr__(self, "root", self.root.rstrip("/"))

    @property
    def client(self) -> Any:
        """The boto3 S3 client (made on first use, from the default credential chain)."""
        if "s3" not in self._clients:
            from adplan.s3files import s3_client

            self._clients["s3"] = s3_client()
        return self._clients["s3"]

    @property
    def bucket(self) -> str:
        return self.root.removeprefix("s3://").split("/", 1)[0]

    @property
    def prefix(self) -> str:
        """The key prefix of the lake inside its bucket ("" or "some/prefix/")."""
        rest = self.root.removeprefix("s3://").partition("/")[2]
        return f"{rest}/" if rest else ""

    def key(self, relative: str) -> str:
        return self.prefix + relative.lstrip("/")

    def location(self, *parts: str) -> str:
        return "/".join([self.root, *(part.strip("/") for part in parts)])

    def relative(self, location: str) -> str:
        return location.removeprefix(self.root + "/")

    def zone_location(self, zone: str) -> str:
        if zone not in ZONES:
            raise ValueError(f"unknown lake zone {zone!r}; zones are {', '.join(ZONES)}")
        return self.location(zone)

    def partition_location(self, zone: str, table: str, dt: str) -> str:
        return f"{self.zone_location(zone)}/{table}/dt={dt}/{PARTITION_FILE}"

    def table_glob(self, zone: str, table: str) -> str:
        return f"{self.zone_location(zone)}/{table}/dt=*/{PARTITION_FILE}"

    # --- DuckDB ---------------------------------------------------------------------------------------

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let ``con`` read and write ``s3://`` paths (idempotent)."""
        import duckdb

        if "s3" in _filesystems(con):
            return
        try:
            # Only if installed: INSTALL would download them, which a Glue job or a test cannot.
            con.execute("LOAD httpfs; LOAD aws")
        except duckdb.Error:
            from adplan.s3files import S3Files

            con.register_filesystem(S3Files(self.client))
            return
        con.execute(_credential_chain_secret())

    def landing_files(self, source: str, dt: str, con: duckdb.DuckDBPyConnection) -> list[str]:
        pattern = f"{self.root}/landing/{source}/dt={dt}/*"
        rows = con.execute("SELECT file FROM glob(?) ORDER BY file", [pattern]).fetchall()
        return [row[0] for row in rows if not row[0].rsplit("/", 1)[-1].startswith(".")]

    def partition_exists(self, zone: str, table: str, dt: str, con: duckdb.DuckDBPyConnection) -> bool:
        location = self.partition_location(zone, table, dt)
        return bool(con.execute("SELECT file FROM glob(?)", [location]).fetchall())

    # --- listing (boto3) ------------------------------------------------------------------------------

    def keys(self, relative: str) -> list[str]:
        """Every key under the folder ``relative`` of the lake, relative to the lake, sorted."""
        prefix = self.key(relative.rstrip("/") + "/") if relative else self.prefix
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found += [item["Key"][len(self.prefix) :] for item in page.get("Contents", [])]
        return sorted(found)

    def partitions(self, zone: str, table: str) -> list[str]:
        """The dates of the complete partitions of a table, oldest first."""
        self.zone_location(zone)
        return sorted(found[2] for key in self.keys(f"{zone}/{table}") if (found := _partition_of(key)))

    def tables(self) -> list[tuple[str, str]]:
        """Every (zone, table) that has at least one complete partition."""
        found = {
            partition[:2]
            for zone in TABLE_ZONES
            for key in self.keys(zone)
            if (partition := _partition_of(key))
        }
        return sorted(found, key=lambda item: (TABLE_ZONES.index(item[0]), item[1]))

    # --- writes ---------------------------------------------------------------------------------------

    def write_partition(
        self,
        zone: str,
        table: str,
        dt: str,
        data: Any,
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> str:
        """Replace one partition with ``data`` (as ``Lake.write_partition``); returns its location.

        A SQL query runs on ``con`` and DuckDB writes the object itself when ``con`` can reach S3
        (``prepare``); otherwise, and for frames and relations, the file is written locally and uploaded.
        """
        if zone == "landing":
            raise ValueError("landing holds delivered files; write tables to another zone")
        location = self.partition_location(zone, table, dt)
        if isinstance(data, str) and con is not None and _reaches_s3(con):
            con.execute(f"COPY ({data}) TO '{_sql_path(location)}' {PARQUET_OPTIONS}")
            return location
        with tempfile.TemporaryDirectory(prefix="adplan-partition-") as staging:
            path = Path(staging) / PARTITION_FILE
            _write_parquet(data, path, con)
            self.client.upload_file(str(path), self.bucket, self.key(self.relative(location)))
        return location

    def write_bytes(self, relative: str, data: bytes) -> str:
        """Replace the object at ``relative`` (a path inside the lake); returns its location."""
        self.client.put_object(Bucket=self.bucket, Key=self.key(relative), Body=data)
        return self.location(relative)

    def read_bytes(self, relative: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.key(relative))["Body"].read()

    @contextlib.contextmanager
    def publish_directory(self, relative: str, last: Sequence[str] = ()) -> Iterator[Path]:
        """Yield an empty local folder; on success its files replace the objects under ``relative``.

        S3 has no multi-object swap: the new files are uploaded (those named in ``last``, e.g. a manifest
        that lists the others, after the rest), then the previous version's other objects are deleted.
        A failure before the upload leaves the previous version as it was.
        """
        with tempfile.TemporaryDirectory(prefix="adplan-publish-") as staging:
            folder = Path(staging)
            yield folder
            files = sorted(
                (path for path in folder.rglob("*") if path.is_file()),
                key=lambda path: (path.name in last, path.relative_to(folder).as_posix()),
            )
            previous = set(self.keys(relative))
            written = set()
            for path in files:
                name = f"{relative.rstrip('/')}/{path.relative_to(folder).as_posix()}"
                self.client.upload_file(str(path), self.bucket, self.key(name))
                written.add(name)
            stale = sorted(previous - written)
            for start in range(0, len(stale), 1000):
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self.key(name)} for name in stale[start : start + 1000]]},
                )


def _partition_of(key: str) -> tuple[str, str, str] | None:
    """(zone, table, dt) of a complete partition's key relative to the lake, else None."""
    parts = key.split("/")
    if len(parts) == 4 and parts[2].startswith("dt=") and parts[3] == PARTITION_FILE:
        return parts[0], parts[1], parts[2].removeprefix("dt=")
    return None


def lake_at(location: str | Path | None) -> Lake | S3Lake:
    """The lake at ``location`` (``s3://bucket[/prefix]`` or a folder), or the target's lake from the
    settings (``$ADPLAN_HOME/lake`` on the local target, ``s3://<bucket>`` on aws)."""
    if location is None or (isinstance(location, str) and location.strip().lower() in {"", "none", "null"}):
        from adplan.settings import get_settings

        settings = get_settings()
        return S3Lake(settings.s3_lake) if settings.target == "aws" else Lake(settings.lake_dir)
    if isinstance(location, str) and location.startswith("s3://"):
        return S3Lake(location)
    return Lake(Path(location))


def _filesystems(con: Any) -> list[str]:
    lister = getattr(con, "list_filesystems", None)
    return list(lister()) if lister is not None else []


def _reaches_s3(con: Any) -> bool:
    """Whether DuckDB on ``con`` can write ``s3://`` paths (``S3Lake.prepare`` ran on it)."""
    import duckdb

    if not isinstance(con, duckdb.DuckDBPyConnection):
        return True  # not a DuckDB connection we can ask: take it as prepared
    if "s3" in _filesystems(con):
        return True
    rows = con.execute(
        "SELECT count(*) FROM duckdb_extensions() WHERE extension_name = 'httpfs' AND loaded"
    ).fetchall()
    return bool(rows[0][0])


def _credential_chain_secret() -> str:
    """DuckDB's S3 secret from the AWS credential chain (and ``AWS_ENDPOINT_URL[_S3]`` when set)."""
    options = ["TYPE s3", "PROVIDER credential_chain"]
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        options += [
            f"ENDPOINT '{host.rstrip('/')}'",
            "URL_STYLE 'path'",
            f"USE_SSL {str(scheme == 'https').lower()}",
        ]
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        options.append(f"REGION '{region}'")
    return f"CREATE SECRET IF NOT EXISTS adplan_s3 ({', '.join(options)})"


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

    options = PARQUET_OPTIONS
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
