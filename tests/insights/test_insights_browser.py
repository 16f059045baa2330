"""The dashboard in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Two pages are loaded: the dashboard served by the plugin's FastAPI app (uvicorn on a free localhost
port, in a thread) and the static report written by ``adplan report``. In both, every chart div must
hold plotly's ``.main-svg``, nothing may log a console error or fail a request, every request stays on
the page's own origin (plotly.js comes from the installed package, never a CDN), the filters change
the numbers shown and the tables' CSV export downloads what the table shows.

Chromium is installed by ``make browser`` (a prerequisite of ``make test``); without it these tests
fail, on purpose: a skip would hide a missing install step.
"""

from __future__ import annotations

import csv
import io
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from click.testing import CliRunner
from insights_world import DS, write_world

from adplan.lake import Lake
from adplan.settings import get_settings

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# every figure the report can draw, with the world below (extras=True) each of them has data
ALL_FIGURES = {
    "fig-daily",
    "fig-pacing",
    "fig-reach",
    "fig-channels",
    "fig-roas",
    "fig-attribution",
    "fig-budget",
    "fig-segments",
    "fig-overlap",
    "fig-quarantine",
    "fig-identity",
}


@pytest.fixture(scope="module")
def browser_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private ADPLAN_HOME with the hand-made world and the other use cases' tables."""
    home = tmp_path_factory.mktemp("browser") / "home"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("ADPLAN_HOME", str(home))
        monkeypatch.delenv("ADPLAN_TARGET", raising=False)
        get_settings.cache_clear()
        write_world(Lake(home / "lake"), audiences=True, extras=True)
        yield home
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module, with a fresh profile."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `make browser` (make test does) to install Debian's chromium"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="adplan-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=True,
            locale="en-US",
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def server(browser_world: Path) -> Iterator[str]:
    """The plugin's FastAPI app (``adplan.insights.web``) on a free localhost port; yields its base URL."""
    from adplan.insights.web import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(), log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        sock.close()


class PageWatch:
    """Console errors, page errors, failed requests and requests that leave the page's origin."""

    def __init__(self, page, origin: str) -> None:
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.origin = origin
        page.on(
            "console",
            lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"))
        page.on(
            "response",
            lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
        )
        # Anything off the page's origin is refused (and reported): no CDN, no network.
        page.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        self.requests.append(url)
        parts = urlsplit(url)
        local = parts.scheme in ("file", "data", "blob") or f"{parts.scheme}://{parts.netloc}" == self.origin
        if local:
            route.continue_()
        else:
            self.problems.append(f"request off origin: {url}")
            route.abort()

    def assert_clean(self) -> None:
        assert self.problems == []


def open_page(context, url: str, origin: str):
    page = context.new_page()
    watch = PageWatch(page, origin)
    page.goto(url, wait_until="load")
    return page, watch


def assert_every_chart_drew(page) -> list[str]:
    """Each chart div holds plotly's ``.main-svg``; returns the chart ids."""
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('div.figure'))"
        ".every(d => d.querySelector('.main-svg') !== null)"
    )
    figures = page.eval_on_selector_all("div.figure", "ds => ds.map(d => d.id)")
    assert set(figures) == ALL_FIGURES
    for figure in figures:
        assert page.locator(f"#{figure} .main-svg").count() >= 1, figure
        assert page.locator(f"#{figure} .empty").count() == 0, figure
    from plotly.offline import get_plotlyjs_version

    # plotly.js is the installed plotly package's own bundle (inlined; nothing was fetched for it)
    assert page.evaluate("() => window.Plotly && Plotly.version") == get_plotlyjs_version()
    return figures


def tile(page, label: str) -> str:
    return page.locator(f'#kpi-tiles .tile[data-kpi="{label}"] .value').inner_text()


def table_rows(page, table: str) -> int:
    return page.locator(f"#table-{table} tbody tr").count()


def pick_date(page, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.dispatch_event(selector, "change")


def check_filters_and_export(page) -> None:
    """Filters recompute the tiles and the tables; CSV export downloads the filtered table."""
    assert (tile(page, "Impressions"), tile(page, "Spend")) == ("10", "7")
    assert table_rows(page, "kpis_daily") == 3 and table_rows(page, "campaign_pacing") == 3

    page.select_option("#f-campaign", "C2")
    assert (tile(page, "Impressions"), tile(page, "Clicks"), tile(page, "Spend")) == ("4", "0", "4")
    assert table_rows(page, "kpis_daily") == 1 and table_rows(page, "campaign_pacing") == 1
    page.select_option("#f-campaign", "")

    page.select_option("#f-advertiser", "ADV1")  # C1 only; the campaign list follows
    assert page.eval_on_selector_all("#f-campaign option", "os => os.map(o => o.value)") == ["", "C1"]
    assert (tile(page, "Impressions"), tile(page, "Spend")) == ("6", "3")
    pick_date(page, "#f-from", DS)  # C1 on 03-10 only
    assert (tile(page, "Impressions"), tile(page, "Clicks"), tile(page, "Spend")) == ("2", "1", "1")
    assert tile(page, "CPM") == "500" and tile(page, "CTR") == "50 %"
    assert table_rows(page, "kpis_daily") == 1

    with page.expect_download() as download_info:
        page.click('button.csv[data-table="kpis_daily"]')
    download = download_info.value
    assert download.suggested_filename == f"kpis_daily_{DS}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [(r["date"], r["campaign_id"], r["impressions"], r["spend"]) for r in rows] == [
        (DS, "C1", "2", "1")
    ]

    with page.expect_download() as download_info:
        page.click('button.csv[data-table="segments"]')  # a table the filters do not touch
    text = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("segment_id,segment_name") and len(text.splitlines()) == 3
    assert "Loyal <b>customers</b>" in text  # data, exported as data

    # the charts the filters redraw still hold their svg
    for figure in ("fig-daily", "fig-channels", "fig-pacing", "fig-reach"):
        assert page.locator(f"#{figure} .main-svg").count() >= 1, figure


def test_dashboard_served_by_the_plugin_app(server: str, chromium) -> None:
    page, watch = open_page(chromium, f"{server}/?ds={DS}", server)
    assert page.title() == "adplan campaign insights"
    assert_every_chart_drew(page)
    # every page of the dashboard: each section of the nav is there and shows its charts or tables
    sections = page.eval_on_selector_all("nav a", "as => as.map(a => a.getAttribute('href'))")
    assert len(sections) == 7
    for href in sections:
        page.click(f'nav a[href="{href}"]')
        section = page.locator(f"section{href}")
        assert section.is_visible()
        assert section.locator(".main-svg").count() + section.locator("table").count() >= 1, href
    # nothing says "no data yet": every table of this world has rows
    assert page.locator("[data-empty]").count() == 0
    # the evil campaign name is shown as text, not run
    assert "<script>alert(" in page.locator("#f-campaign").inner_text()
    check_filters_and_export(page)

    # the app's own JSON and CSV routes from the page's origin agree with what the page shows
    api = page.evaluate(
        "async (u) => (await fetch(u)).json()", f"/api/kpis?ds={DS}&advertiser_id=ADV1&from={DS}"
    )
    assert (api["totals"]["impressions"], api["totals"]["spend"]) == (2, 1.0)
    exported = page.evaluate("async (u) => (await fetch(u)).text()", f"/export/campaign_pacing.csv?ds={DS}")
    assert exported.splitlines()[0].startswith("campaign_id,channel") and len(exported.splitlines()) == 4

    last_touch = page.evaluate("async (u) => (await fetch(u)).json()", f"/api/kpis?ds={DS}&model=last_touch")
    assert (last_touch["totals"]["conversions"], last_touch["totals"]["revenue"]) == (1.0, 5.0)
    page.close()
    assert all(u.startswith(server) or u.startswith("blob:") for u in watch.requests)
    watch.assert_clean()


def test_static_report_from_adplan_report(browser_world: Path, chromium, tmp_path: Path) -> None:
    from adplan.insights.cli import report  # the `adplan report` command

    out = tmp_path / "report.html"
    result = CliRunner().invoke(report, ["--out", str(out), "--date", DS])
    assert result.exit_code == 0, result.output
    assert "no data yet" not in result.output

    page, watch = open_page(chromium, out.as_uri(), "file://")
    assert_every_chart_drew(page)
    assert page.locator("[data-empty]").count() == 0
    check_filters_and_export(page)
    page.close()
    assert [u for u in watch.requests if not u.startswith("blob:")] == [out.as_uri()]
    watch.assert_clean()
