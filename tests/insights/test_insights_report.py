"""The static report: self-contained, every section, escaping, "no data yet"; the export job and CLI."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner
from insights_world import DS, EVIL_NAME, write_world

from adplan.insights import jobs
from adplan.insights.cli import report
from adplan.insights.data import kpi_totals, load_dashboard_data
from adplan.insights.report import SECTIONS, build_report_html, plotly_js


def embedded(html: str, element_id: str):
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def test_report_is_self_contained_with_every_section(world):
    jobs.build_marts(DS)
    html = build_report_html(load_dashboard_data(DS))
    assert not re.search(r"<script[^>]+src\s*=", html, re.I)
    assert plotly_js() in html  # inlined from the installed package
    page = html.replace(plotly_js(), "")  # (plotly.js itself holds link strings, loads nothing)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", page, re.I)
    assert "cdn.plot.ly" not in page
    assert "Plotly.newPlot" in html and len(html) > 1_000_000  # plotly.js is inline
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    for table in ("kpis_daily", "campaign_pacing", "reach_frequency", "segments", "identity_match_rates"):
        assert f'id="table-{table}"' in html
    assert html.count('class="csv"') >= 5
    for control in ("f-advertiser", "f-campaign", "f-from", "f-to", "kpi-tiles"):
        assert f'id="{control}"' in html

    data = embedded(html, "adplan-data")
    assert data["ds"] == DS
    assert (
        kpi_totals(
            dict(zip(data["tables"]["kpis_daily"]["columns"], r, strict=True))
            for r in data["tables"]["kpis_daily"]["rows"]
        )["spend"]
        == 7.0
    )
    figures = embedded(html, "adplan-figures")
    assert {"fig-segments", "fig-overlap", "fig-identity"} <= set(figures)


def test_report_escapes_text(world):
    html = build_report_html(load_dashboard_data(DS))
    assert "<script>alert(" not in html
    assert "<img src=x" not in html
    assert "<b>customers</b>" not in html
    data = embedded(html, "adplan-data")  # the name survives intact as data
    assert data["campaigns"][0]["campaign_name"] == EVIL_NAME
    # the script writes text with textContent only
    assert "innerHTML" not in html.split('id="adplan-figures"')[1]


def test_missing_tables_show_no_data_yet(lake):
    write_world(lake, credits=False, identity=False)
    data = load_dashboard_data(DS)
    for name in (
        "reach_frequency",
        "channel_roas",
        "attribution_models",
        "budget_recommendation",
        "segments",
    ):
        assert data["tables"][name] is None
    assert data["tables"]["kpis_daily"] is not None  # computed in memory: marts not built
    html = build_report_html(data)
    for name in (
        "reach_frequency",
        "attribution_models",
        "budget_recommendation",
        "segments",
        "quarantine_counts",
    ):
        assert f'data-empty="{name}">no data yet<' in html


def test_empty_warehouse_still_renders(home):
    html = build_report_html(load_dashboard_data(DS))
    assert html.count("no data yet") >= 10


def test_export_report_default_path_is_atomic(world):
    result = jobs.export_report(DS)
    path = world.partition_dir("analytics", "report", DS) / "report.html"
    assert result["path"] == str(path) and path.is_file()
    assert result["bytes"] == path.stat().st_size
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]
    assert "budget_recommendation" in result["tables_without_data"]


def test_cli_report(world, tmp_path):
    out = tmp_path / "out" / "report.html"
    result = CliRunner().invoke(report, ["--out", str(out), "--date", DS])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "wrote" in result.output and "no data yet" in result.output
    assert CliRunner().invoke(report, ["--out", str(out), "--model", "x;drop"]).exit_code != 0
