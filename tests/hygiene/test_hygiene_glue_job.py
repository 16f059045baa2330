"""The generic Glue job script is thin: it parses Glue's arguments and calls adplan.jobs.run with them."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hygiene_fixtures import CRM_CONTRACT, CRM_HEADER, DT, crm_row

from adplan.lake import Lake
from adplan.settings import PROJECT_DIR

JOB_PATH = PROJECT_DIR / "include" / "glue" / "adplan_job.py"
ARGV = [
    "adplan_job.py",
    "--JOB_NAME",
    "adplan-job",
    "--job",
    "hygiene.ingest",
    "--ds",
    DT,
    "--params",
    '{"source": "crm_customers"}',
    "--lake",
    "s3://adplan-lake",
]


def _load_job() -> ModuleType:
    spec = importlib.util.spec_from_file_location("adplan_job_under_test", JOB_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, list[dict[str, Any]]]:
    monkeypatch.setitem(sys.modules, "awsglue", None)  # not on Glue: argparse
    job = _load_job()
    recorded: list[dict[str, Any]] = []

    def fake_run(name: str, ds: str, params: dict[str, Any]) -> dict[str, Any]:
        recorded.append({"job": name, "ds": ds, "params": params})
        return {"rows_in": 0}

    monkeypatch.setattr(job, "run", fake_run)
    return job, recorded


def test_calls_the_registered_job_with_the_parsed_arguments(calls) -> None:
    job, recorded = calls
    job.main(ARGV)
    assert recorded == [
        {"job": "hygiene.ingest", "ds": DT, "params": {"source": "crm_customers", "lake": "s3://adplan-lake"}}
    ]


def test_missing_argument_stops_the_job(calls) -> None:
    job, recorded = calls
    with pytest.raises(SystemExit):
        job.main(["adplan_job.py", "--job", "hygiene.ingest"])
    assert recorded == []


def test_params_must_be_a_json_object(calls) -> None:
    job, _ = calls
    argv = [*ARGV]
    argv[argv.index("--params") + 1] = "[1, 2]"
    with pytest.raises(SystemExit, match="JSON object"):
        job.main(argv)


def test_uses_getresolvedoptions_on_glue(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[str]] = []

    def get_resolved_options(argv: list[str], names: list[str]) -> dict[str, str]:
        asked.append(names)
        return {name: argv[argv.index(f"--{name}") + 1] for name in names}

    glue = types.ModuleType("awsglue")
    glue_utils = types.ModuleType("awsglue.utils")
    glue_utils.getResolvedOptions = get_resolved_options
    monkeypatch.setitem(sys.modules, "awsglue", glue)
    monkeypatch.setitem(sys.modules, "awsglue.utils", glue_utils)
    arguments = _load_job().parse_arguments(ARGV)
    assert asked == [["job", "ds", "params", "lake"]]
    assert arguments["lake"] == "s3://adplan-lake"


def test_runs_the_real_engine_on_a_local_lake(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    land: Callable[..., Path],
    lake: Lake,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "awsglue", None)
    contracts = tmp_path / "job-contracts"
    contracts.mkdir()
    (contracts / "crm_customers.yaml").write_text(CRM_CONTRACT)
    config = tmp_path / "hygiene.yaml"
    config.write_text("default_region: US\nmin_rows_for_share: 1\n")
    land(
        "crm_customers",
        "crm_customers-00000.csv.gz",
        CRM_HEADER + "\n" + crm_row() + "\n" + crm_row("X") + "\n",
    )
    job = _load_job()
    params = {"source": "crm_customers", "contracts": str(contracts), "config": str(config)}
    for job_name in ("hygiene.ingest", "hygiene.curate"):
        job.main(
            [
                "adplan_job.py",
                "--job",
                job_name,
                "--ds",
                DT,
                "--params",
                json.dumps(params),
                "--lake",
                str(lake.root),
            ]
        )
    out = capsys.readouterr().out
    ingested, curated = (json.loads(line) for line in out.splitlines())
    assert ingested["rows_in"] == 2
    assert curated["rows"] == 1
    assert "ann.lee" not in out  # counts only
    assert lake.partition_file("curated", "curated_crm_customers", DT).is_file()


def test_the_engine_imports_neither_airflow_nor_boto3() -> None:
    """What the Glue job ships: the package needs duckdb, pyarrow, phonenumbers, unidecode and pyyaml only."""
    code = (
        "import sys, adplan.hygiene, adplan.hygiene.normalize\n"
        "print(sorted(m for m in ('airflow', 'boto3', 'botocore', 'jinja2', 'sqlglot') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
