"""Identity resolution with AWS Entity Resolution's semantics, locally on DuckDB and Splink.

One configuration, the service's own: schema mappings (``CreateSchemaMapping``) and matching workflows
(``CreateMatchingWorkflow``) under ``include/config/entity_resolution/``. A RULE_MATCHING workflow runs
as SQL (:mod:`adplan.matching.rules`), an ML_MATCHING workflow as a Splink model configured from the
schema mappings (:mod:`adplan.matching.probabilistic`); both write the service's output columns
(:mod:`adplan.matching.output`) and a quality report (:mod:`adplan.matching.quality`).

Public API:

- :func:`match_files` for ``adplan match``; :func:`resolve_identities`, the job for one date;
- :func:`run_matching` / :class:`MatchRun` for a run on any DuckDB relations;
- :func:`build_identity_graph` for the identity graph of a date;
- :func:`load_schema_mapping`, :func:`load_matching_workflow`, :func:`load_config`,
  :func:`aws_workflow_request`; :class:`MatchingConfigError`, :class:`MatchingInputError`;
- :class:`MLOptions` (the local ML knobs); :func:`quality_report`, :class:`QualityReport`.
"""

from adplan.matching.api import match_files, resolve_identities
from adplan.matching.config import (
    MatchingWorkflow,
    SchemaMapping,
    aws_workflow_request,
    load_config,
    load_matching_workflow,
    load_schema_mapping,
)
from adplan.matching.engine import MatchRun, run_matching
from adplan.matching.errors import MatchingConfigError, MatchingInputError
from adplan.matching.output import build_identity_graph
from adplan.matching.probabilistic import MLOptions
from adplan.matching.quality import QualityReport, Scores, quality_report

__all__ = [
    "MLOptions",
    "MatchRun",
    "MatchingConfigError",
    "MatchingInputError",
    "MatchingWorkflow",
    "QualityReport",
    "SchemaMapping",
    "Scores",
    "aws_workflow_request",
    "build_identity_graph",
    "load_config",
    "load_matching_workflow",
    "load_schema_mapping",
    "match_files",
    "quality_report",
    "resolve_identities",
    "run_matching",
]
