"""S3 as a file system for DuckDB, through boto3: how the lake reads and writes ``s3://`` paths.

``S3Files`` is an fsspec file system over one boto3 S3 client. ``S3Lake.prepare`` registers it on a DuckDB
connection (``con.register_filesystem``), so ``read_parquet('s3://bucket/zone/table/dt=*/data.parquet')``,
``glob('s3://...')`` and ``COPY ... TO 's3://...'`` work on any DuckDB without its httpfs extension,
which DuckDB downloads at run time (a Glue job in a private subnet, or a test machine without network,
cannot). Credentials, region and endpoint come from boto3's usual chain (the Glue job's role; in tests
``AWS_ENDPOINT_URL`` pointing at moto's server).

Reads are ranged GETs in blocks. A written object is staged in a local spooled file and uploaded when the
handle closes, so it appears whole or not at all; a ``.parquet`` object is uploaded only if it is a
complete Parquet file (DuckDB writes the footer last), so a COPY that fails half way leaves the previous
version in place.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import tempfile
from typing import Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

log = logging.getLogger(__name__)

BLOCK_SIZE = 8 * 2**20
SPOOL_BYTES = 64 * 2**20


def s3_client(region: str | None = None):
    """A boto3 S3 client: inside an Airflow task, from the project's AWS connection (the one every AWS
    operator uses); elsewhere (a Glue job, a test) from boto3's default credential chain.
    ``AWS_ENDPOINT_URL`` is honoured either way."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=16)
    session = _airflow_session(region) or boto3.session.Session()
    return session.client("s3", region_name=region, config=config)


def _airflow_session(region: str | None):
    # The task runner puts AIRFLOW_CTX_* in the environment of the task it runs.
    if not os.environ.get("AIRFLOW_CTX_DAG_ID"):
        return None
    try:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    except ImportError:
        return None
    from adplan.settings import get_settings

    settings = get_settings()
    hook = AwsBaseHook(
        aws_conn_id=settings.aws_conn_id, client_type="s3", region_name=region or settings.region
    )
    return hook.get_session(region_name=region or settings.region)


def split(location: str) -> tuple[str, str]:
    """``s3://bucket/key`` (or ``bucket/key``) -> (bucket, key)."""
    path = location.removeprefix("s3://").lstrip("/")
    bucket, _, key = path.partition("/")
    return bucket, key


class S3Files(AbstractFileSystem):
    protocol = "s3"
    root_marker = ""
    cachable = False  # one instance per client: fsspec must not hand another lake's client out

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        return str(path).removeprefix("s3://").rstrip("/")

    # --- listing --------------------------------------------------------------------------------------

    def _objects(self, bucket: str, prefix: str, delimiter: str | None = None):
        arguments = {"Bucket": bucket, "Prefix": prefix}
        if delimiter:
            arguments["Delimiter"] = delimiter
        yield from self.client.get_paginator("list_objects_v2").paginate(**arguments)

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        bucket, key = split(self._strip_protocol(path))
        prefix = f"{key.rstrip('/')}/" if key else ""
        entries = []
        for page in self._objects(bucket, prefix, "/"):
            for common in page.get("CommonPrefixes", []):
                entries.append(_directory(f"{bucket}/{common['Prefix'].rstrip('/')}"))
            for item in page.get("Contents", []):
                if item["Key"] != prefix:
                    entries.append(_file(bucket, item))
        if not entries and key:
            entries = [self.info(path)]  # ls of a file lists the file
        return entries if detail else [entry["name"] for entry in entries]

    def find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs
    ) -> Any:
        """Every object under ``path`` in one paginated listing (fsspec's default lists folder by folder)."""
        base = self._strip_protocol(path)
        bucket, key = split(base)
        prefix = f"{key}/" if key else ""
        found: dict[str, dict[str, Any]] = {}
        for page in self._objects(bucket, prefix):
            for item in page.get("Contents", []):
                relative = item["Key"][len(prefix) :]
                if not relative or relative.endswith("/"):
                    continue
                parts = relative.split("/")
                if maxdepth is not None and len(parts) > maxdepth:
                    continue
                entry = _file(bucket, item)
                found[entry["name"]] = entry
                if withdirs:
                    for depth in range(1, len(parts)):
                        name = "/".join([base, *parts[:depth]])
                        found.setdefault(name, _directory(name))
        if not found and key:
            try:
                entry = self.info(base)
            except FileNotFoundError:
                entry = None
            if entry is not None and entry["type"] == "file":
                found[entry["name"]] = entry
        names = sorted(found)
        return {name: found[name] for name in names} if detail else names

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        bucket, key = split(self._strip_protocol(path))
        if key:
            try:
                head = self.client.head_object(Bucket=bucket, Key=key)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in {"404", "NoSuchKey", "NotFound"}:
                    raise
            else:
                return {
                    "name": f"{bucket}/{key}",
                    "type": "file",
                    "size": head["ContentLength"],
                    "LastModified": head["LastModified"],
                }
        page = self.client.list_objects_v2(Bucket=bucket, Prefix=f"{key}/" if key else "", MaxKeys=1)
        if page.get("KeyCount", 0) or not key:
            return _directory(f"{bucket}/{key}".rstrip("/"))
        raise FileNotFoundError(path)

    def modified(self, path: str) -> dt.datetime:
        return self.info(path).get("LastModified") or dt.datetime.now(dt.UTC)

    # --- changes --------------------------------------------------------------------------------------

    def _rm(self, path: str) -> None:
        bucket, key = split(self._strip_protocol(path))
        self.client.delete_object(Bucket=bucket, Key=key)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        source_bucket, source_key = split(self._strip_protocol(path1))
        bucket, key = split(self._strip_protocol(path2))
        self.client.copy_object(
            Bucket=bucket, Key=key, CopySource={"Bucket": source_bucket, "Key": source_key}
        )

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """S3 has no folders: nothing to make."""

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """S3 has no folders: nothing to make."""

    def _open(self, path: str, mode: str = "rb", block_size: int | None = None, **kwargs: Any):
        path = self._strip_protocol(path)
        if "r" in mode:
            return _ReadFile(
                self, path, mode="rb", block_size=block_size or BLOCK_SIZE, cache_type="readahead"
            )
        if "w" in mode:
            return _WriteFile(self.client, path)
        raise ValueError(f"S3Files opens files for reading or writing, not {mode!r}")


class _ReadFile(AbstractBufferedFile):
    def _fetch_range(self, start: int, end: int) -> bytes:
        if start >= end:
            return b""
        bucket, key = split(self.path)
        response = self.fs.client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")
        return response["Body"].read()


class _WriteFile(io.RawIOBase):
    """Staged locally; uploaded whole on close (a ``.parquet`` object only if it is complete)."""

    def __init__(self, client: Any, path: str) -> None:
        super().__init__()
        self.client = client
        self.path = path
        self._staged = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed in close)

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: Any) -> int:
        return self._staged.write(bytes(data))

    def tell(self) -> int:
        return self._staged.tell()

    def close(self) -> None:
        if self.closed:
            return
        try:
            size = self._staged.tell()
            self._staged.seek(0)
            if self.path.endswith(".parquet") and not _complete_parquet(self._staged, size):
                log.warning(
                    "not uploading s3://%s: the Parquet file is incomplete (the write failed)", self.path
                )
                return
            bucket, key = split(self.path)
            self._staged.seek(0)
            self.client.upload_fileobj(self._staged, bucket, key)
        finally:
            self._staged.close()
            super().close()


def _complete_parquet(handle: Any, size: int) -> bool:
    """A Parquet file ends with its footer: 4-byte length, then ``PAR1``; it starts with ``PAR1`` too."""
    if size < 12:
        return False
    head = handle.read(4)
    handle.seek(size - 8)
    tail = handle.read(8)
    footer = int.from_bytes(tail[:4], "little")
    return head == b"PAR1" and tail[4:] == b"PAR1" and footer <= size - 12


def _directory(name: str) -> dict[str, Any]:
    return {"name": name, "type": "directory", "size": 0}


def _file(bucket: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"{bucket}/{item['Key']}",
        "type": "file",
        "size": item["Size"],
        "LastModified": item.get("LastModified"),
    }
