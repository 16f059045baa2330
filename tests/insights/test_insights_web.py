"""The FastAPI app and the Airflow plugin that mounts it."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from insights_world import DS

from adplan.insights.web import create_app
from adplan.settings import PROJECT_DIR


@pytest.fixture
def client(world):
    return TestClient(create_app())


def test_dashboard_page(client):
    response = client.get("/", params={"ds": DS})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<section id="delivery">' in response.text and "<script>alert(" not in response.text


def test_kpis_api_filters(client):
    everything = client.get("/api/kpis", params={"ds": DS}).json()
    assert everything["totals"]["impressions"] == 10 and everything["totals"]["spend"] == pytest.approx(7.0)
    assert everything["totals"]["roas"] == pytest.approx(32.0 / 7.0)
    response = client.get("/api/kpis", params={"campaign_id": "C1", "from": "2026-03-10", "to": DS, "ds": DS})
    body = response.json()
    assert response.status_code == 200 and len(body["rows"]) == 1
    totals = body["totals"]
    assert (totals["impressions"], totals["clicks"], totals["spend"]) == (2, 1, 1.0)
    assert (totals["ctr"], totals["cpm"], totals["cpc"], totals["roas"]) == (0.5, 500.0, 1.0, 10.0)
    advertiser = client.get("/api/kpis", params={"advertiser_id": "ADV2", "ds": DS}).json()
    assert {r["campaign_id"] for r in advertiser["rows"]} == {"C2"}
    assert client.get("/api/kpis", params={"model": "bad model"}).status_code == 400


def test_csv_export(client):
    response = client.get("/export/campaign_pacing.csv", params={"ds": DS})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0].startswith("campaign_id,channel,flight_start")
    assert len(lines) == 4
    assert client.get("/export/quarantine.csv").status_code == 404  # not a dashboard table
    assert (
        client.get("/export/budget_recommendation.csv", params={"ds": DS}).status_code == 404
    )  # no data yet


def test_bad_date_is_a_bad_request(client):
    assert client.get("/api/kpis", params={"ds": "2026-03-10' OR 1=1 --"}).status_code == 400


def test_plugin_is_discoverable():
    path = PROJECT_DIR / "plugins" / "adplan_plugin.py"
    spec = importlib.util.spec_from_file_location("adplan_plugin_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    from airflow.plugins_manager import AirflowPlugin

    plugin = module.AdplanPlugin
    assert issubclass(plugin, AirflowPlugin) and plugin.name == "adplan"
    (app,) = plugin.fastapi_apps
    assert isinstance(app["app"], FastAPI) and app["url_prefix"] == "/adplan" and app["name"]
    (view,) = plugin.external_views
    assert view["href"] == "/adplan/" and view["name"] and view["destination"] == "nav"
    assert "adplan/" in (PROJECT_DIR / "plugins" / ".airflowignore").read_text()
