"""Hygiene's ingest and curate on an S3 lake (moto's server) write what they write on a local lake.

The landing files of a small generated world go to both lakes; each source is ingested and curated with
``lake=<folder>`` and with ``lake=s3://<bucket>`` (as the aws target's Glue job runs them).
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest
from moto_local import moto_server

from adplan import jobs
from adplan.lake import Lake, S3Lake
from adplan.settings import get_settings

DS = "2026-11-28"
BUCKET = "adplan-s3-hygiene-test"
SOURCES = ("crm_customers", "orders")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from adplan.s3files import s3_client
    from adplan.world import generate

    patch = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("s3-hygiene-home")
    patch.setenv("ADPLAN_HOME", str(home))
    get_settings.cache_clear()
    try:
        with moto_server():
            client = s3_client("us-east-1")
            client.create_bucket(Bucket=BUCKET)
            generate(home, people=300, days=3, seed=2, as_of=dt.date.fromisoformat(DS))
            local = Lake.from_settings()
            s3 = S3Lake(f"s3://{BUCKET}")
            for source in SOURCES:
                for path in sorted(local.landing_dir(source, DS).iterdir()):
                    s3.write_bytes(local.relative(str(path)), path.read_bytes())
            results = {}
            for lake in (str(local.root), s3.root):
                for source in SOURCES:
                    results[lake, source] = {
                        step: jobs.run(f"hygiene.{step}", DS, {"source": source, "lake": lake})
                        for step in ("ingest", "curate")
                    }
            tables = {}
            for source in SOURCES:
                table = f"curated_{source}"
                key = f"curated/{table}/dt={DS}/data.parquet"
                tables[source] = (
                    pd.read_parquet(local.partition_file("curated", table, DS)),
                    pd.read_parquet(io.BytesIO(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())),
                )
            yield {"local": str(local.root), "s3": s3.root, "results": results, "tables": tables}
    finally:
        patch.undo()
        get_settings.cache_clear()


def test_hygiene_on_s3_curates_the_same_rows(runs):
    for source in SOURCES:
        local_rows, s3_rows = runs["tables"][source]
        assert len(s3_rows) > 0, source
        columns = [c for c in local_rows.columns if c != "source_file"]
        keys = [c for c in columns if not pd.api.types.is_float_dtype(local_rows[c])]
        pd.testing.assert_frame_equal(
            s3_rows[columns].astype(str).sort_values(keys).reset_index(drop=True),
            local_rows[columns].astype(str).sort_values(keys).reset_index(drop=True),
            obj=source,
        )
        local_counts = runs["results"][runs["local"], source]["curate"]
        s3_counts = runs["results"][runs["s3"], source]["curate"]
        assert {k: v for k, v in s3_counts.items() if "path" not in k and "file" not in k} == {
            k: v for k, v in local_counts.items() if "path" not in k and "file" not in k
        }
