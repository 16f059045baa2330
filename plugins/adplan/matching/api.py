"""Entry points: matching files (``adplan match``) and matching the lake for a date (the DAG's job).

``match_files`` backs ``adplan match --schema-mapping S.json --workflow W.json --input NAME=PATH ...
--out OUT.csv``: each ``NAME`` is an ``inputSourceARN`` of the workflow and becomes the output's
``InputSourceARN``. ``resolve_identities`` is the identity-resolution job: it matches the curated
tables of one date, writes ``entity_resolution_output`` and ``identity_graph`` partitions, and returns a
small summary (counts and the quality report, never personal data).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from adplan.matching.config import MatchingWorkflow, load_config, load_matching_workflow, load_schema_mapping
from adplan.matching.engine import MatchRun, run_matching
from adplan.matching.errors import MatchingConfigError, MatchingInputError
from adplan.matching.inputs import file_relation, lake_relation, literal
from adplan.matching.output import OUTPUT_TABLE, build_identity_graph
from adplan.matching.probabilistic import MLOptions

RULE_WORKFLOW = "workflows/identity_rules.json"
ML_WORKFLOW = "workflows/identity_ml.json"


def load_workflow_files(schema_mappings: list[Path] | Path, workflow: Path) -> MatchingWorkflow:
    """A workflow file validated against the given schema mapping files."""
    paths = [schema_mappings] if isinstance(schema_mappings, Path) else list(schema_mappings)
    if not paths:
        raise MatchingConfigError(workflow, "inputSourceConfig", "no schema mapping file was given")
    return load_matching_workflow(workflow, [load_schema_mapping(path) for path in paths])


def match_files(
    schema_mappings: list[Path] | Path,
    workflow: Path,
    inputs: Mapping[str, Path],
    out: Path,
    *,
    ml_options: MLOptions | None = None,
) -> dict[str, Any]:
    """Match CSV or Parquet files with a workflow and write the output (CSV or Parquet by suffix).

    ``inputs`` maps each of the workflow's input names (its ``inputSourceARN``) to a file. Raises
    :class:`MatchingConfigError` for a bad configuration and :class:`MatchingInputError` for a bad
    input, each naming the file and the field or column.
    """
    config = load_workflow_files(schema_mappings, Path(workflow))
    expected = {source.name for source in config.inputs}
    given = {_input_name(name, config) for name in inputs}
    unknown = sorted(given - expected)
    if unknown:
        raise MatchingInputError(
            unknown[0],
            f"is not an input of workflow {config.workflow_name} (its inputs: {', '.join(sorted(expected))})",
        )
    relations = {_input_name(name, config): file_relation(Path(path)) for name, path in inputs.items()}
    run = run_matching(config, relations, ml_options=ml_options)
    try:
        run.write(Path(out))
        return _summary(run)
    finally:
        run.close()


def resolve_identities(
    ds: str,
    workflow: str = RULE_WORKFLOW,
    config_dir: str | None = None,
    lake_root: str | None = None,
    ground_truth: str | None = None,
    **ml_options: Any,
) -> dict[str, Any]:
    """The identity-resolution job for date ``ds``: match the curated inputs of that date, write the
    ``entity_resolution_output`` and ``identity_graph`` partitions, return counts and quality."""
    from adplan.lake import Lake
    from adplan.matching.config import default_config_dir

    base = Path(config_dir) if config_dir else default_config_dir()
    config = load_config(base / workflow)
    lake = Lake(Path(lake_root)) if lake_root else Lake.from_settings()
    relations = {source.name: lake_relation(lake.root, source.name, ds) for source in config.inputs}
    run = run_matching(config, relations, ml_options=MLOptions(**ml_options) if ml_options else None)
    try:
        run.write_to_lake(lake, ds)
        truth = Path(ground_truth) if ground_truth else None
        summary = _summary(
            run, f"SELECT * FROM read_parquet({literal(str(truth))})" if truth and truth.is_file() else None
        )
    finally:
        run.close()
    summary["identity_graph"] = build_identity_graph(ds, lake)
    summary["output"] = {"table": OUTPUT_TABLE, "dt": ds}
    if lake_root is None:
        _refresh_catalog()
    return summary


def run_files(
    workflow: MatchingWorkflow,
    inputs: Mapping[str, Path],
    con: duckdb.DuckDBPyConnection | None = None,
    **ml_options: Any,
) -> MatchRun:
    """Run a loaded workflow on files and keep the run open (tests and the benchmark read it)."""
    relations = {name: file_relation(Path(path)) for name, path in inputs.items()}
    return run_matching(
        workflow, relations, con=con, ml_options=MLOptions(**ml_options) if ml_options else None
    )


def _input_name(name: str, workflow: MatchingWorkflow) -> str:
    # --input accepts the inputSourceARN as written in the workflow, or its table name.
    for source in workflow.inputs:
        if name in (source.input_source_arn, source.name):
            return source.name
    return name


def _summary(run: MatchRun, truth_sql: str | None = None) -> dict[str, Any]:
    report = run.quality(truth_sql)
    return {
        "workflow": run.workflow.workflow_name,
        "resolution_type": run.workflow.resolution_type,
        "timings_s": {name: round(seconds, 3) for name, seconds in run.timings.items()},
        "figures": json.loads(json.dumps(run.figures, default=str)),
        "quality": report.as_dict(),
    }


def _refresh_catalog() -> None:
    try:
        from adplan.warehouse import Warehouse

        Warehouse.from_settings().refresh_catalog()
    except OSError:
        pass  # the catalog is a convenience for people; the partitions are written
