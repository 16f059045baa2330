"""What reviewers get: the ``creatives`` rows, a static review page, and applying their decisions.

Statuses: PENDING_REVIEW (passed the guardrails, waiting for a person), REJECTED (failed its guardrails
after every attempt, or rejected by a reviewer), APPROVED (set only by a reviewer, and only on a
variant that passed its guardrails).

The review page is one self-contained HTML file (inline CSS, no script, no external resource, a
Content-Security-Policy that forbids loading anything); every value on it is HTML-escaped, because copy
is model output and segment names come from data.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

import duckdb

from adplan.creative.config import CreativeConfig
from adplan.creative.pipeline import APPROVED, PENDING_REVIEW, REJECTED, CreativeResult

# The creatives table: column -> DuckDB type.
CREATIVES_COLUMNS = {
    "creative_key": "VARCHAR",  # campaign/segment/channel/v<variant>: what reviewers decide on
    "campaign_id": "VARCHAR",
    "segment_id": "VARCHAR",
    "channel": "VARCHAR",
    "variant": "INTEGER",
    "fields": "VARCHAR",  # JSON object: field name -> copy
    "verdict": "VARCHAR",  # PASS / FAIL (guardrails)
    "reasons": "VARCHAR",  # JSON list of guardrail reasons
    "attempts": "INTEGER",
    "status": "VARCHAR",  # PENDING_REVIEW / REJECTED / APPROVED
}
CREATIVE_COLUMNS = tuple(CREATIVES_COLUMNS)
DECISION_WORDS = {"APPROVED": APPROVED, "APPROVE": APPROVED, "REJECTED": REJECTED, "REJECT": REJECTED}


class DecisionsError(ValueError):
    """A reviewers' decisions file that cannot be read."""


# --- rows -------------------------------------------------------------------------------------------


def creative_rows(results: Iterable[CreativeResult]) -> list[dict[str, Any]]:
    return [
        {
            "creative_key": result.item.key,
            "campaign_id": result.item.campaign_id,
            "segment_id": result.item.segment_id,
            "channel": result.item.channel,
            "variant": result.item.variant,
            "fields": json.dumps(result.fields, ensure_ascii=False, sort_keys=True),
            "verdict": result.verdict.label,
            "reasons": json.dumps(list(result.verdict.reasons), ensure_ascii=False),
            "attempts": result.item.attempt,
            "status": result.status,
        }
        for result in results
    ]


def creatives_relation(
    con: duckdb.DuckDBPyConnection, rows: Sequence[Mapping[str, Any]]
) -> duckdb.DuckDBPyRelation:
    """The rows as a DuckDB relation with the table's types (what ``Lake.write_partition`` takes)."""
    columns = ", ".join(f'"{name}" {kind}' for name, kind in CREATIVES_COLUMNS.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE creatives_rows ({columns})")
    if rows:
        placeholders = ", ".join("?" for _ in CREATIVE_COLUMNS)
        con.executemany(
            f"INSERT INTO creatives_rows VALUES ({placeholders})",
            [[row[name] for name in CREATIVE_COLUMNS] for row in rows],
        )
    return con.table("creatives_rows")


def read_creatives(con: duckdb.DuckDBPyConnection, path: str | Path) -> list[dict[str, Any]]:
    """The rows of a creatives Parquet file."""
    columns = ", ".join(f'"{name}"' for name in CREATIVE_COLUMNS)
    cursor = con.execute(f"SELECT {columns} FROM read_parquet(?) ORDER BY creative_key", [str(path)])
    return [dict(zip(CREATIVE_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


# --- review page ------------------------------------------------------------------------------------

PAGE_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328;background:#f6f8fa}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
.summary span{margin-right:1.2rem}
.variant{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.8rem 1rem;margin:.6rem 0}
.variant header{display:flex;gap:.8rem;align-items:baseline;font-size:.9rem}
.badge{padding:.1rem .5rem;border-radius:1rem;font-weight:600;font-size:.8rem}
.PASS{background:#dafbe1;color:#116329}.FAIL{background:#ffebe9;color:#a40e26}
.PENDING_REVIEW{background:#fff8c5;color:#7d4e00}.REJECTED{background:#ffebe9;color:#a40e26}
.APPROVED{background:#dafbe1;color:#116329}
table{border-collapse:collapse;width:100%;margin-top:.5rem}td,th{text-align:left;vertical-align:top;padding:.25rem .5rem}
th{width:9rem;color:#57606a;font-weight:500}.chars{width:5rem;color:#57606a;font-size:.8rem}.over{color:#a40e26}
code{font-size:.8rem;color:#57606a}ul.reasons{margin:.4rem 0 0;color:#a40e26;font-size:.9rem}
"""


def render_review_page(
    rows: Sequence[Mapping[str, Any]],
    *,
    campaign_id: str,
    ds: str,
    config: CreativeConfig | None = None,
    segment_names: Mapping[str, str] | None = None,
) -> str:
    """The review page: variants grouped by segment x channel, with verdicts, reasons and keys."""
    names = segment_names or {}
    ordered = sorted(rows, key=lambda row: (row["segment_id"], row["channel"], int(row["variant"])))
    sections = []
    for (segment_id, channel), group in groupby(ordered, key=lambda row: (row["segment_id"], row["channel"])):
        title = f"{names.get(segment_id, segment_id)} ({segment_id}) · {channel}"
        cards = "".join(_variant_card(row, config) for row in group)
        sections.append(f"<section><h2>{_e(title)}</h2>{cards}</section>")
    counts = {
        status: sum(row["status"] == status for row in rows)
        for status in (PENDING_REVIEW, REJECTED, APPROVED)
    }
    summary = "".join(f"<span>{_e(status)}: {count}</span>" for status, count in counts.items())
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{_e(f'Creative review: {campaign_id} {ds}')}</title><style>{PAGE_STYLE}</style></head><body>"
        f"<h1>Creative review: {_e(campaign_id)}, {_e(ds)}</h1>"
        f'<p class="summary">{summary}</p>'
        "<p>Approve or reject by creative key (a CSV or JSON of <code>creative_key, decision</code>); "
        "only variants that passed their guardrails can be approved.</p>"
        f"{''.join(sections)}</body></html>\n"
    )


def _variant_card(row: Mapping[str, Any], config: CreativeConfig | None) -> str:
    fields = json.loads(row["fields"] or "{}")
    reasons = json.loads(row["reasons"] or "[]")
    channel = config.channels.get(row["channel"]) if config else None
    # In the channel's own field order (the JSON column is stored with sorted keys).
    order = [name for name in (channel.field_names if channel else ()) if name in fields]
    lines = []
    for name in order + [name for name in fields if name not in order]:
        text = fields[name]
        limit = channel.limit(name) if channel and name in channel.field_names else None
        over = " over" if limit is not None and len(text) > limit else ""
        chars = f"{len(text)}/{limit}" if limit is not None else str(len(text))
        lines.append(
            f'<tr><th>{_e(name)}</th><td>{_e(text)}</td><td class="chars{over}">{_e(chars)}</td></tr>'
        )
    reason_list = "".join(f"<li>{_e(reason)}</li>" for reason in reasons)
    return (
        '<article class="variant"><header>'
        f"<strong>Variant {_e(row['variant'])}</strong>"
        f'<span class="badge {_e(row["verdict"])}">{_e(row["verdict"])}</span>'
        f'<span class="badge {_e(row["status"])}">{_e(row["status"])}</span>'
        f"<span>attempts: {_e(row['attempts'])}</span><code>{_e(row['creative_key'])}</code></header>"
        f"<table>{''.join(lines)}</table>"
        + (f'<ul class="reasons">{reason_list}</ul>' if reasons else "")
        + "</article>"
    )


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def write_review_page(path: str | Path, page: str) -> Path:
    """Write the page atomically (a reviewer never opens a half-written file)."""
    from adplan.lake import atomic_file

    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


# --- approvals --------------------------------------------------------------------------------------


@dataclass
class ApprovalReport:
    rows: list[dict[str, Any]]
    approved: int = 0
    rejected: int = 0
    refused: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "rejected": self.rejected,
            "refused": len(self.refused),
            "unknown_keys": len(self.unknown),
        }


def load_decisions(path: str | Path) -> dict[str, str]:
    """Reviewers' decisions from a CSV (columns creative_key, decision) or a JSON file.

    JSON may be a list of ``{"creative_key": ..., "decision": ...}`` objects or a ``{key: decision}``
    mapping. Decisions are APPROVED/APPROVE or REJECTED/REJECT, any case.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        pairs = data.items() if isinstance(data, Mapping) else [_pair(entry) for entry in data]
    else:
        with open(path, encoding="utf-8", newline="") as handle:
            pairs = [_pair(entry) for entry in csv.DictReader(handle)]
    return {str(key).strip(): _decision(value) for key, value in pairs}


def _pair(entry: Any) -> tuple[str, str]:
    if not isinstance(entry, Mapping):
        raise DecisionsError("each decision must be an object with creative_key and decision")
    key = entry.get("creative_key") or entry.get("key")
    if not key or not entry.get("decision"):
        raise DecisionsError(f"a decision needs creative_key and decision: {dict(entry)!r}")
    return str(key), str(entry["decision"])


def _decision(value: str) -> str:
    decision = DECISION_WORDS.get(str(value).strip().upper())
    if decision is None:
        raise DecisionsError(f"unknown decision {value!r}; use APPROVED or REJECTED")
    return decision


def apply_approvals(rows: Sequence[Mapping[str, Any]], decisions: Mapping[str, str]) -> ApprovalReport:
    """New rows with reviewers' decisions applied. A variant that failed its guardrails cannot be approved."""
    report = ApprovalReport(rows=[])
    known = {row["creative_key"] for row in rows}
    report.unknown = sorted(key for key in decisions if key not in known)
    for row in rows:
        updated = dict(row)
        decision = decisions.get(row["creative_key"])
        if decision == APPROVED:
            if row["verdict"] != "PASS":
                report.refused.append(f"{row['creative_key']}: failed its guardrails; it cannot be approved")
            else:
                updated["status"] = APPROVED
                report.approved += 1
        elif decision == REJECTED:
            updated["status"] = REJECTED
            report.rejected += 1
        report.rows.append(updated)
    return report
