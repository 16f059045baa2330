"""``adplan cleanroom query`` / ``check`` over a small warehouse in a private ADPLAN_HOME."""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

from adplan.cleanroom.cli import REFUSED, cleanroom
from adplan.lake import Lake
from adplan.settings import get_settings

DS = "2026-11-28"
OVERLAP_SQL = (
    "SELECT c.segment, COUNT(DISTINCT c.email_sha256) AS matched "
    "FROM advertiser_customers c JOIN publisher_audience p ON c.email_sha256 = p.email_sha256 "
    "GROUP BY c.segment"
)
LEAKY_SQL = (
    "SELECT c.email_sha256, COUNT(DISTINCT c.email_sha256) AS n FROM advertiser_customers c GROUP BY 1"
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ADPLAN_HOME", str(tmp_path))
    get_settings.cache_clear()
    lake = Lake.from_settings()
    customers = [
        {"customer_id": f"C{i}", "email_sha256": sha(f"e{i}"), "phone_sha256": sha(f"p{i}"),
         "segment": "big" if i < 250 else "small", "ltv_tier": "high", "region": "CA"}
        for i in range(300)
    ]  # fmt: skip
    audience = [
        {"email_sha256": sha(f"e{i}"), "phone_sha256": None, "maid_sha256": None, "interest": "sports",
         "age_band": "25-34", "region": "west"}
        for i in range(0, 400)
    ]  # fmt: skip
    lake.write_partition("cleanrooms", "cr_advertiser_customers", DS, pa.Table.from_pylist(customers))
    lake.write_partition("cleanrooms", "cr_publisher_audience", DS, pa.Table.from_pylist(audience))
    yield tmp_path
    get_settings.cache_clear()


def test_query_prints_the_result_and_writes_csv(home):
    out = home / "out" / "overlap.csv"
    result = CliRunner().invoke(
        cleanroom, ["query", "--member", "agency", "--sql", OVERLAP_SQL, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "big" in result.output and "250" in result.output
    assert "small" not in result.output  # 50 customers: below the output constraint
    frame = pd.read_csv(out)
    assert frame.to_dict("records") == [{"segment": "big", "matched": 250}]


def test_query_refused_exits_3_with_code_and_message(home):
    result = CliRunner().invoke(cleanroom, ["query", "--member", "agency", "--sql", LEAKY_SQL])
    assert result.exit_code == REFUSED
    assert "FAILED" in result.output and "email_sha256" in result.output
    assert "INVALID_QUERY" in result.output or "MALFORMED_QUERY" in result.output


def test_query_by_a_member_without_can_query(home):
    result = CliRunner().invoke(cleanroom, ["query", "--member", "publisher", "--sql", OVERLAP_SQL])
    assert result.exit_code == REFUSED
    assert "RESOURCE_ACCESS_DENIED" in result.output


def test_check_allows_and_refuses(home):
    config = get_settings().config_dir / "collaboration.yaml"
    allowed = CliRunner().invoke(
        cleanroom, ["check", "--collaboration", str(config), "--member", "agency", "--sql", OVERLAP_SQL]
    )
    assert allowed.exit_code == 0, allowed.output
    assert "ALLOWED AGGREGATION" in allowed.output
    refused = CliRunner().invoke(cleanroom, ["check", "--member", "agency", "--sql", LEAKY_SQL])
    assert refused.exit_code == REFUSED
    assert "REFUSED" in refused.output


def test_query_needs_sql_or_template(home):
    result = CliRunner().invoke(cleanroom, ["query", "--member", "agency"])
    assert result.exit_code == 2
