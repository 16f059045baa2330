"""Data hygiene: contracts, validation with quarantine, and normalization with AWS Entity Resolution semantics.

Entry points (all return counts, never values, and import neither Airflow nor boto3):

- ``ingest_source(lake, contract, dt)`` -> ``Reconciliation``: landing files -> ``raw_<source>``,
  ``quarantine_<source>``, ``hygiene_reconciliation_<source>``.
- ``curate_source(lake, contract, dt)`` -> counts: ``raw_<source>`` -> ``curated_<source>``.
- ``run_source(lake, source, dt)``: both, by source name (what the Glue job calls).
- ``reconcile_date(lake, dt, sources)``: checks every source's counts against its partitions and writes
  the combined ``quarantine`` and ``hygiene_reconciliation`` tables.
- ``adplan.hygiene.jobs``: ``ingest``, ``curate``, ``reconcile`` as jobs (``fn(ds, **params) -> dict``).
- ``adplan.hygiene.normalize``: the normalization rules as pure functions.
"""

from adplan.hygiene.config import HygieneConfig, load_config
from adplan.hygiene.contracts import Column, Contract, FileFormat, load_contract, load_contracts
from adplan.hygiene.curate import curate_source, curated_columns, curated_table
from adplan.hygiene.errors import (
    ContractError,
    HygieneError,
    MalformedFileError,
    MissingInputError,
    RejectedShareExceeded,
)
from adplan.hygiene.ingest import (
    Reconciliation,
    ingest_source,
    quarantine_table,
    raw_table,
    reconciliation_table,
)
from adplan.hygiene.pipeline import run_source
from adplan.hygiene.reconcile import reconcile_date
from adplan.hygiene.storage import S3Lake

__all__ = [
    "Column",
    "Contract",
    "ContractError",
    "FileFormat",
    "HygieneConfig",
    "HygieneError",
    "MalformedFileError",
    "MissingInputError",
    "Reconciliation",
    "RejectedShareExceeded",
    "S3Lake",
    "curate_source",
    "curated_columns",
    "curated_table",
    "ingest_source",
    "load_config",
    "load_contract",
    "load_contracts",
    "quarantine_table",
    "raw_table",
    "reconcile_date",
    "reconciliation_table",
    "run_source",
]
