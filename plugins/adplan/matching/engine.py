"""One matching run: prepare the inputs, match by rules or by model, and hand back the output.

``run_matching`` is the single entry point of both methods; the CLI (:mod:`adplan.matching.api`),
the identity-resolution job and the benchmark all go through it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from adplan.matching.config import RULE_MATCHING, RULE_MATCHING_MAX_ID_LENGTH, MatchingWorkflow
from adplan.matching.inputs import PreparedInputs, literal, prepare_inputs
from adplan.matching.normalize import register_normalizers
from adplan.matching.output import OUTPUT_TABLE, add_match_ids, output_sql, source_name, write_output_file
from adplan.matching.quality import QualityReport, quality_report
from adplan.matching.rules import cluster_rule_matches, rule_keys


@dataclass
class MatchRun:
    """A finished run: its DuckDB connection holds ``er_assign`` and the prepared inputs."""

    con: duckdb.DuckDBPyConnection
    prepared: PreparedInputs
    workflow: MatchingWorkflow
    timings: dict[str, float] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def result_column(self) -> str:
        return "MatchRule" if self.workflow.resolution_type == RULE_MATCHING else "ConfidenceLevel"

    def output_sql(self) -> str:
        return output_sql(self.prepared, self.result_column)

    def write(self, out: Path) -> Path:
        """Write the output to a CSV or Parquet file."""
        return write_output_file(self.con, self.output_sql(), out)

    def write_to_lake(self, lake, dt: str, zone: str = "curated", table: str = OUTPUT_TABLE) -> Path:
        return lake.write_partition(zone, table, dt, self.output_sql(), self.con)

    def predicted_sql(self) -> str:
        """(source, record_id, cluster) of every record, ``source`` as the identity graph names it."""
        names = ", ".join(
            f"({p.source_no}, {literal(source_name(p.source.input_source_arn))})"
            for p in self.prepared.sources
        )
        return f"""
            WITH names(source_no, source) AS (VALUES {names})
            SELECT n.source, a.record_id, a.MatchID AS cluster
            FROM er_assign a JOIN names n USING (source_no)
        """

    def quality(self, truth_sql: str | None = None) -> QualityReport:
        report = quality_report(self.con, self.predicted_sql(), truth_sql)
        for p in self.prepared.sources:
            errors = self.prepared.error_counts.get(p.source.name, {})
            entry = report.per_source.setdefault(source_name(p.source.input_source_arn), {})
            entry["error_records"] = sum(errors.values())
        return report

    def close(self) -> None:
        self.con.close()


def run_matching(
    workflow: MatchingWorkflow,
    relations: Mapping[str, str],
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    ml_options: Any = None,
) -> MatchRun:
    """Match the inputs of ``workflow``; ``relations`` maps each input name to SQL reading it.

    ``ml_options`` (an :class:`~adplan.matching.probabilistic.MLOptions`) tunes ML matching only.
    """
    con = con or duckdb.connect()
    # Row order of intermediate tables means nothing here (outputs are ordered explicitly); not
    # keeping it lets DuckDB write them in parallel with less memory.
    con.execute("SET preserve_insertion_order = false")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if workflow.resolution_type == RULE_MATCHING:
        prepared, figures = _match_by_rules(con, workflow, relations, timings)
    else:
        prepared, figures = _match_by_model(con, workflow, relations, ml_options, timings)
    add_match_ids(con, prepared)
    timings["total"] = time.perf_counter() - started
    return MatchRun(con, prepared, workflow, timings, figures)


def _match_by_rules(
    con: duckdb.DuckDBPyConnection,
    workflow: MatchingWorkflow,
    relations: Mapping[str, str],
    timings: dict[str, float],
) -> tuple[PreparedInputs, dict[str, Any]]:
    started = time.perf_counter()
    prepared = prepare_inputs(
        con, workflow, relations, matched_keys=rule_keys(workflow), max_id_length=RULE_MATCHING_MAX_ID_LENGTH
    )
    timings["prepare"] = time.perf_counter() - started
    figures = cluster_rule_matches(con, prepared)
    timings["match_and_cluster"] = time.perf_counter() - started - timings["prepare"]
    return prepared, figures


def _match_by_model(
    con: duckdb.DuckDBPyConnection,
    workflow: MatchingWorkflow,
    relations: Mapping[str, str],
    ml_options: Any,
    timings: dict[str, float],
) -> tuple[PreparedInputs, dict[str, Any]]:
    # Imported here: Splink is only needed (and only imported) for ML matching.
    from adplan.matching.probabilistic import (
        MLOptions,
        configure_connection,
        feature_columns_sql,
        match_probabilistically,
    )

    ml_options = ml_options or MLOptions()
    configure_connection(con, ml_options)
    started = time.perf_counter()
    registered = register_normalizers(con) if any(s.apply_normalization for s in workflow.inputs) else {}
    # The model reads its own feature columns, not the rules' match-key attributes.
    prepared = prepare_inputs(
        con,
        workflow,
        relations,
        matched_keys=set(),
        extra_columns=lambda p: feature_columns_sql(p, registered),
    )
    timings["prepare"] = time.perf_counter() - started
    figures = match_probabilistically(con, prepared, ml_options, timings)
    return prepared, figures
