"""Nightly ingestion and data hygiene: landing files -> raw + quarantine -> curated, for every source."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, TaskGroup, dag
from airflow.sdk.definitions.callback import SyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference
from airflow.timetables.trigger import CronTriggerTimetable

from adplan.assets import LANDING_SOURCES, curated, table_asset
from adplan.dag_defaults import dag_kwargs
from adplan.settings import get_settings
from adplan.targets import builders

DOC = """
### Ingest and hygiene (nightly)

For each landing source of the night's delivery (`landing/<source>/dt=<ds>/`):

1. **ingest** validates every file against its contract (`include/contracts/<source>.yaml`): accepted
   rows go to `raw_<source>`, rejected rows to `quarantine_<source>` with file, row, field and reason.
   If the rejected share passes the contract's threshold the task fails and writes nothing.
2. **curate** normalizes names, emails, phones, addresses and dates of birth the way AWS Entity
   Resolution does, adds SHA-256 hashes of email and phone, and publishes `curated_<source>`.

**reconcile** records, per source, rows in = accepted + quarantined (`hygiene_reconciliation`), and
fails if any source's recorded counts disagree with its partitions. **update_catalog** runs the Glue
crawler on aws (the DuckDB catalog views locally).

Trigger with `sources` (comma-separated, or `all`) to rerun some sources for a date; a rerun replaces
that date's partitions.
"""

b = builders()


@dag(
    dag_id="ingest_and_hygiene",
    schedule=CronTriggerTimetable("0 2 * * *", timezone=get_settings().timezone),
    # The downstream DAGs need the night's data before the planners' morning: alert when it is late.
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=get_settings().nightly_deadline_minutes),
        callback=SyncCallback("adplan.alerts.deadline_missed"),
    ),
    doc_md=DOC,
    params={
        "sources": Param(
            "all",
            type="string",
            description="Comma-separated landing sources to process, or 'all'.",
            examples=["all", *LANDING_SOURCES],
        ),
    },
    **dag_kwargs("hygiene", "nightly"),
)
def ingest_and_hygiene():
    curated_tasks = []
    for source in LANDING_SOURCES:
        with TaskGroup(group_id=source):
            ingest = b.job(
                "ingest",
                "hygiene.ingest",
                params={"source": source, "selected": "{{ params.sources }}"},
                outlets=[table_asset("raw", f"raw_{source}")],
            )
            curate = b.job(
                "curate",
                "hygiene.curate",
                params={"source": source, "selected": "{{ params.sources }}"},
                outlets=[curated(source)],
            )
            ingest >> curate
        curated_tasks.append(curate)
    reconcile = b.job(
        "reconcile",
        "hygiene.reconcile",
        params={"selected": "{{ params.sources }}"},
        outlets=[table_asset("quarantine", "hygiene_reconciliation")],
        # Sources left out of a UI-triggered run are skipped; the others still reconcile.
        trigger_rule="none_failed",
    )
    update_catalog = b.catalog_refresh("update_catalog", "curated")
    # Every row that came in was accepted or quarantined, source by source, checked in SQL on the
    # written table as well as by the reconcile step itself.
    check_counts = b.quality_checks(
        "check_reconciliation",
        "quarantine",
        "hygiene_reconciliation",
        table_checks={
            "in_equals_accepted_plus_quarantined": {
                "check_statement": "COUNT(*) = SUM(CASE WHEN rows_in = accepted + quarantined THEN 1 ELSE 0 END)"
            },
        },
    )
    curated_tasks >> reconcile >> [update_catalog, check_counts]


ingest_and_hygiene()
