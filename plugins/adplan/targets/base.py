"""The neutral interface of task builders.

Each method returns something a DAG can chain with ``>>`` (an operator, or a task group when a target
needs several steps). Arguments are the business description of the step; how it runs is the target's
business:

| builder | local | aws |
|---|---|---|
| ``query`` | DuckDB, the SQL file transpiled by sqlglot | ``AthenaOperator`` (UNLOAD into the partition) |
| ``job`` | the package function, in the worker | ``GlueJobOperator`` running the same function |
| ``catalog_refresh`` | DuckDB catalog views | Glue crawler ``adplan-<zone>`` |
| ``matching_job`` | rule / Splink matching engine | Entity Resolution ``StartMatchingJob`` + waiter |
| ``protected_query`` | analysis-rule engine on DuckDB | Clean Rooms ``StartProtectedQuery`` + waiter |
| ``state_machine_run`` | the job that stands in for the machine | Step Functions start + sensor |
| ``model_call`` | deterministic generator, Bedrock-shaped | ``BedrockInvokeModelOperator`` |
| ``dashboard_refresh`` | static HTML export | QuickSight SPICE ingestion + sensor |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from airflow.sdk import Asset


class TaskBuilders(Protocol):
    target: str

    def query(
        self,
        task_id: str,
        sql: str,
        *,
        output_table: str | None = None,
        zone: str = "analytics",
        params: dict[str, Any] | None = None,
        outlets: Sequence[Asset] = (),
    ) -> Any:
        """Run ``sql/<sql>``; with ``output_table`` its result replaces that table's ``ds`` partition."""

    def job(
        self,
        task_id: str,
        job: str,
        *,
        params: dict[str, Any] | None = None,
        outlets: Sequence[Asset] = (),
        trigger_rule: str = "all_success",
    ) -> Any:
        """Run a registered job (``adplan.jobs.JOBS``) for the run's ``ds`` with ``params``.

        A job that returns ``{"skipped": True}`` (a source not selected in the UI, say) ends as a
        skipped task locally, so it publishes no asset event.
        """

    def worker_job(
        self,
        task_id: str,
        job: str,
        *,
        params: dict[str, Any] | None = None,
        outlets: Sequence[Asset] = (),
    ) -> Any:
        """Run a registered job in the Airflow worker on both targets, on the target's lake (S3 on aws).

        For light steps that need Airflow itself (connections, notifiers), which a Glue job lacks:
        the pacing alerts, for one."""

    def catalog_refresh(
        self,
        task_id: str,
        zone: str,
        *,
        outlets: Sequence[Asset] = (),
    ) -> Any:
        """Bring the catalog up to date with a zone's tables (Glue crawler on aws, DuckDB views locally)."""

    def matching_job(
        self,
        task_id: str,
        workflow: str,
        *,
        outlets: Sequence[Asset] = (),
    ) -> Any:
        """Run an Entity Resolution matching workflow (``include/config/entity_resolution/<workflow>``).

        Its output lands in ``entity_resolution_output`` (curated zone) for the run's ``ds``.
        """

    def state_machine_run(
        self,
        task_id: str,
        state_machine: str,
        *,
        local_job: str,
        params: dict[str, Any] | None = None,
        outlets: Sequence[Asset] = (),
    ) -> Any:
        """Run a Step Functions state machine (aws) or the job that does its work in-process (local)."""

    def model_call(
        self,
        task_id: str,
        *,
        local_job: str,
        body: dict[str, Any],
        model_id: str | None = None,
        outlets: Sequence[Asset] = (),
    ) -> Any:
        """Invoke a foundation model with a request ``body``; the result is the model's response body."""

    def model_round(
        self,
        task_id: str,
        state_machine: str,
        *,
        plan: Any,
        local_job: str,
    ) -> Any:
        """Answer one round of model requests that an upstream task stored in the lake.

        ``plan`` is that task's XCom (``adplan.creative.rounds``): ``mode`` (``state_machine`` or
        ``batch``), ``items``, ``inputs`` (execution inputs' lake keys) or the batch job's fields. Each
        answer lands in the lake beside its request: on aws one Step Functions execution per input (a
        mapped start + sensor) or a Bedrock batch inference job; locally ``local_job``. The step is
        skipped when the plan has no items.
        """

    def dashboard_refresh(
        self,
        task_id: str,
        dataset_ids: Sequence[str],
        *,
        local_job: str,
        outlets: Sequence[Asset] = (),
    ) -> Any:
        """Refresh the dashboards' data (QuickSight SPICE on aws, the static report locally)."""

    def protected_query(
        self,
        task_id: str,
        analysis: str,
        *,
        member: str | None = None,
        params: dict[str, Any] | None = None,
        result_format: str = "PARQUET",
        outlets: Sequence[Asset] = (),
    ) -> Any:
        """Run one clean-room analysis (``adplan.cleanroom.analyses.ANALYSES``) as a protected query.

        A SQL-file analysis is rendered with ``ds`` and ``params``; a template analysis runs the
        collaboration's analysis template with its parameters. The result (``CSV`` or ``PARQUET``) lands
        under ``cleanrooms/results/dt=<ds>/<analysis>/`` (locally also in ``cleanroom_results_<analysis>``).
        ``member`` runs it when the analysis names no member of its own (local engine); on aws the
        membership is ``Settings.clean_rooms_membership_id``.
        """

    def quality_checks(
        self,
        task_id: str,
        zone: str,
        table: str,
        *,
        column_checks: dict[str, dict[str, Any]] | None = None,
        table_checks: dict[str, dict[str, str]] | None = None,
        outlets: Sequence[Asset] = (),
    ) -> Any:
        """Data-quality checks on the run's partition of a table, with the common-sql check operators
        (``SQLColumnCheckOperator`` / ``SQLTableCheckOperator``): DuckDB over the lake's Parquet locally,
        Athena on aws. A failed check fails the task, and the run, with the failing check named.

        Give the table's Asset as ``outlets`` here rather than to the task that writes it: the Asset
        event, and the DAGs it schedules, then follow only data that passed its checks."""
