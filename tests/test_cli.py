from __future__ import annotations

import json

import pyarrow as pa
import pytest
from click.testing import CliRunner

from adplan.cli import main
from adplan.lake import Lake
from adplan.settings import get_settings


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["generate"],
        ["run"],
        ["demo"],
        ["sql"],
        ["setup"],
        ["airflow"],
        ["match"],
        ["attribute"],
        ["cleanroom", "query"],
    ],
)
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.fixture
def orders_table():
    lake = Lake(get_settings().lake_dir)
    lake.write_partition("analytics", "cli_orders", "2026-11-28", pa.table({"id": [1, 2], "v": [1.5, 2.5]}))
    return "cli_orders"


def test_sql_prints_csv_and_json(orders_table):
    runner = CliRunner()
    csv_result = runner.invoke(
        main, ["sql", f"SELECT id, v FROM {orders_table} ORDER BY id", "--format", "csv"]
    )
    assert csv_result.exit_code == 0, csv_result.output
    assert csv_result.output.splitlines() == ['"id","v"', "1,1.5", "2,2.5"]
    json_result = runner.invoke(
        main, ["sql", f"SELECT id, dt FROM {orders_table} ORDER BY id", "--format", "json"]
    )
    assert [json.loads(line) for line in json_result.output.splitlines()] == [
        {"id": 1, "dt": "2026-11-28"},
        {"id": 2, "dt": "2026-11-28"},
    ]


def test_sql_error_is_a_clear_message_not_a_traceback(orders_table):
    result = CliRunner().invoke(main, ["sql", "SELECT nope FROM cli_orders"])
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "nope" in result.output
    assert "Traceback" not in result.output


def test_run_rejects_bad_conf():
    result = CliRunner().invoke(main, ["run", "ingest_and_hygiene", "--conf", "{not json"])
    assert result.exit_code == 2
    assert "--conf is not JSON" in result.output
