"""The Glue job script is thin: it parses Glue's arguments and calls the package's run_source with them."""

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

from adplan.hygiene import S3Lake
from adplan.lake import Lake
from adplan.settings import PROJECT_DIR

JOB_PATH = PROJECT_DIR / "include" / "glue" / "hygiene_job.py"
ARGV = [
    "hygiene_job.py",
    "--JOB_NAME",
    "adplan-hygiene",
    "--source",
    "crm_customers",
    "--dt",
    DT,
    "--lake_root",
    "s3://adplan-lake",
]


def _load_job() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hygiene_job_under_test", JOB_PATH)
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

    def fake_run_source(lake: Any, source: str, dt: str, **options: Any) -> dict[str, Any]:
        recorded.append({"lake": lake, "source": source, "dt": dt, **options})
        return {"reconciliation": {"rows_in": 0}, "curated": {"rows": 0}}

    monkeypatch.setattr(job, "run_source", fake_run_source)
    return job, recorded


def test_calls_run_source_with_the_parsed_arguments(calls: tuple[ModuleType, list[dict[str, Any]]]) -> None:
    job, recorded = calls
    job.main(ARGV)
    assert recorded == [
        {
            "lake": S3Lake("s3://adplan-lake"),
            "source": "crm_customers",
            "dt": DT,
            "contracts": None,
            "config": None,
        }
    ]


def test_optional_locations_are_passed_through(calls: tuple[ModuleType, list[dict[str, Any]]]) -> None:
    job, recorded = calls
    job.main(
        [
            *ARGV,
            "--contracts",
            "s3://adplan-lake/config/contracts",
            "--config",
            "s3://adplan-lake/config/hygiene.yaml",
        ]
    )
    assert recorded[0]["contracts"] == "s3://adplan-lake/config/contracts"
    assert recorded[0]["config"] == "s3://adplan-lake/config/hygiene.yaml"


def test_missing_argument_stops_the_job(calls: tuple[ModuleType, list[dict[str, Any]]]) -> None:
    job, recorded = calls
    with pytest.raises(SystemExit):
        job.main(["hygiene_job.py", "--source", "crm_customers"])
    assert recorded == []


def test_uses_getresolvedoptions_on_glue(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[str]] = []

    def get_resolved_options(argv: list[str], names: list[str]) -> dict[str, str]:
        asked.append(names)
        return {name: argv[argv.index(f"--{name}") + 1] for name in names}

    awsglue = types.ModuleType("awsglue")
    utils = types.ModuleType("awsglue.utils")
    utils.getResolvedOptions = get_resolved_options  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "awsglue", awsglue)
    monkeypatch.setitem(sys.modules, "awsglue.utils", utils)
    job = _load_job()
    arguments = job.parse_arguments([*ARGV, "--config", "s3://adplan-lake/config/hygiene.yaml"])
    assert asked == [["source", "dt", "lake_root", "config"]]
    assert arguments["lake_root"] == "s3://adplan-lake"


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
    job.main(
        [
            "hygiene_job.py",
            "--source",
            "crm_customers",
            "--dt",
            DT,
            "--lake_root",
            str(lake.root),
            "--contracts",
            str(contracts),
            "--config",
            str(config),
        ]
    )
    out = capsys.readouterr().out
    printed = json.loads(out)
    assert printed["reconciliation"]["rows_in"] == 2
    assert printed["curated"]["rows"] == 1
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
