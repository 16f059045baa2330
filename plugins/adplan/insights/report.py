"""The campaign insights dashboard as one self-contained HTML file.

``build_report_html(data)`` takes ``adplan.insights.data.load_dashboard_data()``'s dict and returns the
page: plotly.js inlined from the installed plotly package (no CDN, works offline and in the Airflow
UI), the data embedded as JSON, plotly figures, KPI tiles, filters (advertiser, campaign, date
range) that recompute the tiles and redraw the delivery, channel, pacing and reach views in the
browser, and tables with a "CSV" button.

Escaping: the page skeleton is a Jinja template with autoescaping; the embedded JSON has ``<``, ``>``,
``&`` and the JavaScript line separators escaped, so no value can close its script element; the
script writes every value with ``textContent``, never as HTML.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
import plotly.io as pio

from adplan.insights.data import records
from adplan.lake import atomic_file

# section id -> title, and the dashboard tables each shows
SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "delivery": ("Delivery", ("kpis_daily",)),
    "pacing": ("Pacing and reach", ("campaign_pacing", "reach_frequency")),
    "channels": ("Channel performance and ROAS", ("kpis_daily", "channel_roas")),
    "attribution": ("Attribution models side by side", ("attribution_models",)),
    "budget": ("Budget recommendation", ("budget_recommendation",)),
    "audiences": ("Audiences", ("segments", "segment_overlap")),
    "health": ("Data health", ("quarantine_counts", "hygiene_reconciliation", "identity_match_rates")),
}
TABLE_TITLES = {
    "kpis_daily": "KPIs by day, campaign and channel",
    "campaign_pacing": "Pacing by campaign and channel",
    "reach_frequency": "Reach and frequency",
    "channel_roas": "ROAS and CPA by model, channel and campaign",
    "attribution_models": "Conversions credited by model and channel",
    "budget_recommendation": "Budget recommendation",
    "segments": "Segments",
    "segment_overlap": "Segment overlap",
    "quarantine_counts": "Quarantined rows by source and reason",
    "hygiene_reconciliation": "Ingestion reconciliation",
    "identity_match_rates": "Identity match rates",
}
NO_DATA = "no data yet"


@cache
def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element."""
    text = value if isinstance(value, str) else json.dumps(value, default=str, allow_nan=False)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "margin": {"l": 60, "r": 20, "t": 50, "b": 60}, "height": 380, **extra}


def _figure_json(fig: go.Figure) -> Any:
    return json.loads(pio.to_json(fig, validate=False))


def static_figures(data: dict[str, Any]) -> dict[str, Any]:
    """Plotly figures of the sections the filters do not change (id -> figure JSON)."""
    tables = data["tables"]
    figures: dict[str, Any] = {}

    roas = [r for r in records(tables.get("channel_roas")) if r["campaign_id"] is None]
    if roas:
        fig = go.Figure()
        for model in sorted({r["model"] for r in roas}):
            rows = [r for r in roas if r["model"] == model]
            fig.add_bar(name=model, x=[r["channel"] for r in rows], y=[r["roas"] for r in rows])
        fig.update_layout(**_layout("ROAS by channel and model", barmode="group"))
        figures["fig-roas"] = _figure_json(fig)

    credits = records(tables.get("attribution_models"))
    if credits:
        fig = go.Figure()
        for channel in sorted({r["channel"] for r in credits}):
            rows = [r for r in credits if r["channel"] == channel]
            fig.add_bar(name=channel, x=[r["model"] for r in rows], y=[r["conversions"] for r in rows])
        fig.update_layout(**_layout("Conversions credited per channel, by model", barmode="stack"))
        figures["fig-attribution"] = _figure_json(fig)

    budget = [r for r in records(tables.get("budget_recommendation")) if r.get("channel") != "TOTAL"]
    if budget:
        fig = go.Figure()
        channels = [r["channel"] for r in budget]
        fig.add_bar(name="current", x=channels, y=[r.get("current_spend") for r in budget])
        fig.add_bar(name="recommended", x=channels, y=[r.get("recommended_spend") for r in budget])
        fig.update_layout(**_layout("Current vs recommended spend", barmode="group"))
        figures["fig-budget"] = _figure_json(fig)

    segments = records(tables.get("segments"))
    if segments:
        fig = go.Figure(go.Bar(x=[r["segment_id"] for r in segments], y=[r["size"] for r in segments]))
        fig.update_layout(**_layout("Segment sizes"))
        figures["fig-segments"] = _figure_json(fig)

    overlap = records(tables.get("segment_overlap"))
    if overlap:
        names = sorted({r["segment_a"] for r in overlap} | {r["segment_b"] for r in overlap})
        index = {name: i for i, name in enumerate(names)}
        z: list[list[float | None]] = [[None] * len(names) for _ in names]
        for r in overlap:
            z[index[r["segment_a"]]][index[r["segment_b"]]] = r["jaccard"]
        fig = go.Figure(go.Heatmap(z=z, x=names, y=names, colorscale="Blues", zmin=0, zmax=1))
        fig.update_layout(**_layout("Segment overlap (Jaccard)", height=520))
        figures["fig-overlap"] = _figure_json(fig)

    quarantine = records(tables.get("quarantine_counts"))
    if quarantine:
        fig = go.Figure()
        for reason in sorted({r["reason"] or "" for r in quarantine}):
            rows = [r for r in quarantine if (r["reason"] or "") == reason]
            fig.add_bar(name=reason, x=[r["source"] for r in rows], y=[r["quarantined_rows"] for r in rows])
        fig.update_layout(**_layout("Quarantined rows by source and reason", barmode="stack"))
        figures["fig-quarantine"] = _figure_json(fig)

    identity = records(tables.get("identity_match_rates"))
    if identity:
        fig = go.Figure(go.Bar(x=[r["source"] for r in identity], y=[r["match_rate"] for r in identity]))
        fig.update_layout(
            **_layout("Identity match rate by source", yaxis={"tickformat": ".0%", "range": [0, 1]})
        )
        figures["fig-identity"] = _figure_json(fig)
    return figures


_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; color: #1d2733; background: #f5f7fa; }
header { background: #17324d; color: #fff; padding: 12px 24px; }
header h1 { margin: 0; font-size: 20px; }
nav a { color: #cfe3ff; margin-right: 14px; text-decoration: none; font-size: 14px; }
#filters { display: flex; gap: 16px; flex-wrap: wrap; padding: 12px 24px; background: #fff;
           border-bottom: 1px solid #dde3ea; position: sticky; top: 0; z-index: 10; }
#filters label { font-size: 13px; display: flex; flex-direction: column; }
main { padding: 0 24px 40px; }
section { background: #fff; margin: 18px 0; padding: 12px 18px; border-radius: 6px; border: 1px solid #dde3ea; }
section h2 { margin: 4px 0 10px; font-size: 18px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 10px; }
.tile { background: #eef3f8; padding: 8px 10px; border-radius: 4px; }
.tile .label { font-size: 12px; color: #4a5a6a; }
.tile .value { font-size: 20px; font-weight: 600; }
.empty { color: #7a8694; font-style: italic; }
.table-wrap { max-height: 360px; overflow: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #dde3ea; padding: 3px 6px; text-align: right; white-space: nowrap; }
th { background: #eef3f8; position: sticky; top: 0; }
td.text { text-align: left; }
.table-head { display: flex; align-items: center; gap: 12px; }
.table-head h3 { font-size: 14px; margin: 8px 0; }
button.csv { font-size: 12px; }
</style>
<script>{{ plotly_js | safe }}</script>
</head>
<body>
<header>
  <h1>{{ title }}</h1>
  <div>Data as of {{ ds }} &middot; attribution model {{ model }} &middot; built {{ generated_at }}</div>
  <nav>{% for id, section in sections.items() %}<a href="#{{ id }}">{{ section[0] }}</a>{% endfor %}</nav>
</header>
<div id="filters">
  <label>Advertiser <select id="f-advertiser"><option value="">All advertisers</option></select></label>
  <label>Campaign <select id="f-campaign"><option value="">All campaigns</option></select></label>
  <label>From <input type="date" id="f-from"></label>
  <label>To <input type="date" id="f-to"></label>
</div>
<main>
{% for id, section in sections.items() %}
<section id="{{ id }}">
  <h2>{{ section[0] }}</h2>
  {% if id == "delivery" %}<div class="tiles" id="kpi-tiles"></div>{% endif %}
  {% for fig_id in section_figures[id] %}<div class="figure" id="{{ fig_id }}"></div>{% endfor %}
  {% for table in section[1] %}
  {% if not (id == "channels" and table == "kpis_daily") %}
  <div class="table-head"><h3>{{ table_titles[table] }}</h3>
    {% if available[table] %}<button class="csv" type="button" data-table="{{ table }}">CSV</button>{% endif %}</div>
  {% if available[table] %}<div class="table-wrap" id="table-{{ table }}"></div>
  {% else %}<p class="empty" data-empty="{{ table }}">{{ no_data }}</p>{% endif %}
  {% endif %}
  {% endfor %}
</section>
{% endfor %}
</main>
<script type="application/json" id="adplan-data">{{ data_json | safe }}</script>
<script type="application/json" id="adplan-figures">{{ figures_json | safe }}</script>
<script>{{ app_js | safe }}</script>
</body>
</html>
"""
)

# Figures drawn by the script from the filtered data, per section.
_DYNAMIC_FIGURES = {
    "delivery": ("fig-daily",),
    "pacing": ("fig-pacing", "fig-reach"),
    "channels": ("fig-channels",),
}
_STATIC_FIGURES = {
    "channels": ("fig-roas",),
    "attribution": ("fig-attribution",),
    "budget": ("fig-budget",),
    "audiences": ("fig-segments", "fig-overlap"),
    "health": ("fig-quarantine", "fig-identity"),
}

_APP_JS = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("adplan-data").textContent);
  var FIGS = JSON.parse(document.getElementById("adplan-figures").textContent);
  var CONFIG = {displaylogo: false, responsive: true};
  var TEXT_COLUMNS = {};

  function rows(name) {
    var t = D.tables[name];
    if (!t) { return []; }
    return t.rows.map(function (r) {
      var o = {};
      t.columns.forEach(function (c, i) { o[c] = r[i]; });
      return o;
    });
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function fmt(v, digits) {
    if (v === null || v === undefined || (typeof v === "number" && !isFinite(v))) { return "–"; }
    if (typeof v === "number") {
      return v.toLocaleString(undefined, {maximumFractionDigits: digits === undefined ? 2 : digits});
    }
    return String(v);
  }
  function div(a, b, scale) { return b ? a * (scale || 1) / b : null; }
  function sum(list, key) { return list.reduce(function (s, r) { return s + (Number(r[key]) || 0); }, 0); }
  function message(id, text) {
    var node = document.getElementById(id);
    if (!node) { return; }
    if (window.Plotly) { Plotly.purge(node); }
    node.textContent = "";
    node.appendChild(el("p", text, "empty"));
  }
  function plot(id, traces, layout) {
    var node = document.getElementById(id);
    if (!node) { return; }
    // Clear a "no data" message only: emptying a drawn plot would leave Plotly.react nothing to update.
    Array.prototype.forEach.call(node.querySelectorAll(":scope > p.empty"), function (p) { p.remove(); });
    layout = Object.assign({margin: {l: 60, r: 20, t: 50, b: 60}, height: 380}, layout || {});
    Plotly.react(node, traces, layout, CONFIG);
  }

  // ---- filters
  var campaigns = D.campaigns || [];
  var names = {};
  campaigns.forEach(function (c) { names[c.campaign_id] = c.campaign_name; });
  var fAdv = document.getElementById("f-advertiser"), fCmp = document.getElementById("f-campaign");
  var fFrom = document.getElementById("f-from"), fTo = document.getElementById("f-to");
  var kpis = rows("kpis_daily");
  var advertisers = {};
  campaigns.forEach(function (c) { if (c.advertiser_id) { advertisers[c.advertiser_id] = true; } });
  kpis.forEach(function (r) { if (r.advertiser_id) { advertisers[r.advertiser_id] = true; } });
  Object.keys(advertisers).sort().forEach(function (a) {
    var o = el("option", a); o.value = a; fAdv.appendChild(o);
  });
  function fillCampaigns() {
    var keep = fCmp.value;
    while (fCmp.options.length > 1) { fCmp.remove(1); }
    var ids = {};
    campaigns.forEach(function (c) { ids[c.campaign_id] = c.advertiser_id; });
    kpis.forEach(function (r) { if (!(r.campaign_id in ids)) { ids[r.campaign_id] = r.advertiser_id; } });
    Object.keys(ids).sort().forEach(function (id) {
      if (fAdv.value && ids[id] !== fAdv.value) { return; }
      var o = el("option", names[id] ? id + " – " + names[id] : id); o.value = id; fCmp.appendChild(o);
    });
    fCmp.value = Array.prototype.some.call(fCmp.options, function (o) { return o.value === keep; }) ? keep : "";
  }
  var dates = kpis.map(function (r) { return r.date; }).sort();
  if (dates.length) {
    fFrom.value = fFrom.min = fTo.min = dates[0];
    fTo.value = fFrom.max = fTo.max = dates[dates.length - 1];
  }
  function campaignOk(r) {
    if (fCmp.value && r.campaign_id !== fCmp.value) { return false; }
    if (fAdv.value) {
      var adv = r.advertiser_id;
      if (adv === undefined) { campaigns.forEach(function (c) { if (c.campaign_id === r.campaign_id) { adv = c.advertiser_id; } }); }
      if (adv !== fAdv.value) { return false; }
    }
    return true;
  }
  function kpiOk(r) {
    return campaignOk(r) && (!fFrom.value || r.date >= fFrom.value) && (!fTo.value || r.date <= fTo.value);
  }

  // ---- tables
  var shown = {};
  function csvCell(v) {
    if (v === null || v === undefined) { return ""; }
    var s = String(v);
    if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) { s = "'" + s; }  // no formulas in spreadsheets
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function renderTable(name, list) {
    var node = document.getElementById("table-" + name), t = D.tables[name];
    if (!node || !t) { return; }
    shown[name] = list;
    node.textContent = "";
    if (!list.length) { node.appendChild(el("p", "no rows for these filters", "empty")); return; }
    var table = el("table"), head = el("tr");
    t.columns.forEach(function (c) { head.appendChild(el("th", c)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    list.slice(0, 2000).forEach(function (r) {
      var tr = el("tr");
      t.columns.forEach(function (c) {
        var v = r[c];
        tr.appendChild(el("td", fmt(v, 4), typeof v === "number" ? "" : "text"));
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    node.appendChild(table);
    if (list.length > 2000) { node.appendChild(el("p", "first 2000 of " + list.length + " rows; CSV has all", "empty")); }
  }
  document.querySelectorAll("button.csv").forEach(function (b) {
    b.addEventListener("click", function () {
      var name = b.getAttribute("data-table"), t = D.tables[name];
      var list = shown[name] || rows(name);
      var lines = [t.columns.map(csvCell).join(",")];
      list.forEach(function (r) { lines.push(t.columns.map(function (c) { return csvCell(r[c]); }).join(",")); });
      var blob = new Blob([lines.join("\r\n") + "\r\n"], {type: "text/csv;charset=utf-8"});
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = name + "_" + D.ds + ".csv";
      document.body.appendChild(a); a.click(); a.remove();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
    });
  });

  // ---- filtered views
  function tiles(list) {
    var s = {impressions: sum(list, "impressions"), clicks: sum(list, "clicks"), spend: sum(list, "spend"),
             conversions: sum(list, "conversions"), revenue: sum(list, "revenue")};
    var items = [
      ["Impressions", fmt(s.impressions, 0)], ["Clicks", fmt(s.clicks, 0)],
      ["CTR", s.impressions ? fmt(100 * s.clicks / s.impressions, 2) + " %" : "–"],
      ["Spend", fmt(s.spend)], ["CPM", fmt(div(s.spend, s.impressions, 1000))], ["CPC", fmt(div(s.spend, s.clicks))],
      ["Conversions", fmt(s.conversions, 1)], ["CPA", fmt(div(s.spend, s.conversions))],
      ["Revenue", fmt(s.revenue)], ["ROAS", fmt(div(s.revenue, s.spend))]
    ];
    var node = document.getElementById("kpi-tiles");
    node.textContent = "";
    if (!D.tables.kpis_daily) { node.appendChild(el("p", "no data yet", "empty")); return; }
    items.forEach(function (it) {
      var t = el("div", null, "tile");
      t.setAttribute("data-kpi", it[0]);
      t.appendChild(el("div", it[0], "label"));
      t.appendChild(el("div", it[1], "value"));
      node.appendChild(t);
    });
  }
  function groupBy(list, key) {
    var out = {};
    list.forEach(function (r) {
      var k = r[key], g = out[k] || (out[k] = {impressions: 0, clicks: 0, spend: 0, conversions: 0, revenue: 0});
      ["impressions", "clicks", "spend", "conversions", "revenue"].forEach(function (m) { g[m] += Number(r[m]) || 0; });
    });
    return out;
  }
  function redraw() {
    if (!window.Plotly) { return; }
    var list = kpis.filter(kpiOk);
    tiles(list);
    renderTable("kpis_daily", list);
    if (!D.tables.kpis_daily) {
      message("fig-daily", "no data yet"); message("fig-channels", "no data yet");
    } else {
      var byDate = groupBy(list, "date"), ds = Object.keys(byDate).sort();
      plot("fig-daily", [
        {type: "bar", name: "spend", x: ds, y: ds.map(function (d) { return byDate[d].spend; })},
        {type: "scatter", mode: "lines", name: "impressions", yaxis: "y2", x: ds,
         y: ds.map(function (d) { return byDate[d].impressions; })},
        {type: "scatter", mode: "lines", name: "conversions", yaxis: "y3", x: ds,
         y: ds.map(function (d) { return byDate[d].conversions; })}
      ], {title: {text: "Daily spend, impressions and conversions"},
          yaxis: {title: {text: "spend"}}, yaxis2: {overlaying: "y", side: "right", showgrid: false},
          yaxis3: {overlaying: "y", side: "right", showgrid: false, visible: false}});
      var byChannel = groupBy(list, "channel"), chs = Object.keys(byChannel).sort();
      plot("fig-channels", [
        {type: "bar", name: "spend", x: chs, y: chs.map(function (c) { return byChannel[c].spend; })},
        {type: "bar", name: "revenue (" + D.model + ")", x: chs, y: chs.map(function (c) { return byChannel[c].revenue; })},
        {type: "scatter", mode: "markers", marker: {size: 12}, name: "ROAS", yaxis: "y2", x: chs,
         y: chs.map(function (c) { return div(byChannel[c].revenue, byChannel[c].spend); })}
      ], {title: {text: "Spend, revenue and ROAS by channel"}, barmode: "group",
          yaxis2: {overlaying: "y", side: "right", title: {text: "ROAS"}, showgrid: false}});
    }
    var pacing = rows("campaign_pacing").filter(campaignOk);
    renderTable("campaign_pacing", pacing);
    if (!D.tables.campaign_pacing) { message("fig-pacing", "no data yet"); } else {
      var labels = pacing.map(function (r) { return r.campaign_id + " / " + r.channel; });
      plot("fig-pacing", [
        {type: "bar", name: "planned to date", x: labels, y: pacing.map(function (r) { return r.planned_spend_to_date; })},
        {type: "bar", name: "actual", x: labels, y: pacing.map(function (r) { return r.actual_spend; })},
        {type: "scatter", mode: "markers", name: "pacing ratio", yaxis: "y2", x: labels, marker: {size: 10},
         y: pacing.map(function (r) { return r.pacing_ratio; })}
      ], {title: {text: "Spend to date against plan"}, barmode: "group",
          yaxis2: {overlaying: "y", side: "right", title: {text: "pacing ratio"}, showgrid: false}});
    }
    var reach = rows("reach_frequency").filter(campaignOk);
    renderTable("reach_frequency", reach);
    if (!D.tables.reach_frequency) { message("fig-reach", "no data yet"); } else {
      var buckets = [["freq_1", "1"], ["freq_2", "2"], ["freq_3_5", "3-5"], ["freq_6_10", "6-10"], ["freq_11_plus", "11+"]];
      plot("fig-reach", reach.map(function (r) {
        return {type: "bar", name: r.campaign_id, x: buckets.map(function (b) { return b[1]; }),
                y: buckets.map(function (b) { return r[b[0]]; })};
      }), {title: {text: "People reached, by frequency"}, barmode: "group", xaxis: {title: {text: "impressions seen"}}});
    }
    renderTable("channel_roas", rows("channel_roas").filter(function (r) { return r.campaign_id === null || campaignOk(r); }));
  }
  fAdv.addEventListener("change", function () { fillCampaigns(); redraw(); });
  [fCmp, fFrom, fTo].forEach(function (f) { f.addEventListener("change", redraw); });
  fillCampaigns();

  // ---- static sections
  Object.keys(D.tables).forEach(function (name) {
    if (["kpis_daily", "campaign_pacing", "reach_frequency", "channel_roas"].indexOf(name) < 0) { renderTable(name, rows(name)); }
  });
  Object.keys(FIGS).forEach(function (id) {
    var f = FIGS[id], node = document.getElementById(id);
    if (node && window.Plotly) { Plotly.newPlot(node, f.data, f.layout, CONFIG); }
  });
  redraw();
})();
"""


def build_report_html(data: dict[str, Any], title: str = "adplan campaign insights") -> str:
    tables = data["tables"]
    figures = static_figures(data)
    section_figures = {
        section: [
            *_DYNAMIC_FIGURES.get(section, ()),
            *(fig for fig in _STATIC_FIGURES.get(section, ()) if fig in figures),
        ]
        for section in SECTIONS
    }
    return _TEMPLATE.render(
        title=title,
        ds=data["ds"],
        model=data["model"],
        generated_at=data.get("generated_at", ""),
        sections=SECTIONS,
        section_figures=section_figures,
        table_titles=TABLE_TITLES,
        available={name: tables.get(name) is not None for name in TABLE_TITLES},
        no_data=NO_DATA,
        plotly_js=plotly_js(),
        data_json=script_json(data),
        figures_json=script_json(figures),
        app_js=_APP_JS,
    )


def write_report(data: dict[str, Any], out: Path) -> Path:
    """Write the report to ``out`` atomically (a temporary file beside it, renamed into place)."""
    out = Path(out)
    with atomic_file(out) as tmp:
        tmp.write_text(build_report_html(data), encoding="utf-8")
    return out
