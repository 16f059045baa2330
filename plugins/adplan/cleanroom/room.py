"""``CleanRoom``: protected queries with the service's lifecycle, on a local DuckDB warehouse.

A protected query goes SUBMITTED -> STARTED -> SUCCESS | FAILED | CANCELLED | TIMED_OUT (CANCELLING
while a running query is being interrupted). A query the analysis rules refuse fails at submission
with an error code and message and never runs. Records are shaped like ``GetProtectedQuery``'s
``protectedQuery``; the result location is ``result.output.s3.location`` (here a local path).

Queries run on worker threads, each on its own DuckDB cursor, so ``wait=False`` returns at once and
``get_protected_query`` polls, as a sensor would against the service.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import itertools
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from adplan.cleanroom.checker import CheckedQuery, QueryChecker
from adplan.cleanroom.config import Collaboration
from adplan.cleanroom.errors import (
    INTERNAL_ERROR,
    MALFORMED_QUERY,
    RESOURCE_ACCESS_DENIED,
    RESOURCE_NOT_FOUND,
    TIMED_OUT,
    CleanRoomsError,
)
from adplan.cleanroom.execution import RESULT_FORMATS, check_data_locations, result_path, run_query
from adplan.cleanroom.privacy import PrivacyBudgetLedger

TERMINAL_STATUSES = frozenset({"SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"})
DEFAULT_TIMEOUT_SECONDS = 1800.0


@dataclass(frozen=True)
class QueryCheck:
    """The answer of ``CleanRoom.check``: allowed or not, and why."""

    allowed: bool
    rule_type: str | None = None
    tables: tuple[str, ...] = ()
    error: dict[str, str] | None = None
    epsilon_cost: float | None = None  # for differentially private queries

    def __bool__(self) -> bool:
        return self.allowed


@dataclass
class _Record:
    id: str
    member: str
    membership_id: str
    membership_arn: str
    sql_parameters: dict[str, Any]
    result_configuration: dict[str, Any]
    create_time: dt.datetime
    status: str = "SUBMITTED"
    error: dict[str, str] | None = None
    location: str | None = None
    duration_ms: int | None = None
    differential_privacy: dict[str, Any] | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    cancel_requested: bool = False
    timed_out: bool = False
    cursor: duckdb.DuckDBPyConnection | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def as_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.id,
            "membershipId": self.membership_id,
            "membershipArn": self.membership_arn,
            "createTime": self.create_time,
            "sqlParameters": copy.deepcopy(self.sql_parameters),
            "status": self.status,
            "resultConfiguration": copy.deepcopy(self.result_configuration),
        }
        if self.duration_ms is not None:
            record["statistics"] = {"totalDurationInMillis": self.duration_ms}
        if self.location is not None:
            record["result"] = {"output": {"s3": {"location": self.location}}}
        if self.error is not None:
            record["error"] = dict(self.error)
        if self.differential_privacy is not None:
            record["differentialPrivacy"] = copy.deepcopy(self.differential_privacy)
        return record


class CleanRoom:
    """The collaboration's protected-query service over a DuckDB connection holding the members' tables."""

    def __init__(
        self,
        collaboration: Collaboration,
        connection: duckdb.DuckDBPyConnection,
        *,
        state_dir: str | Path | None = None,
        max_concurrent_queries: int = 1,
        default_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        seed: int | None = None,
    ) -> None:
        self.collaboration = collaboration
        self.connection = connection
        self.checker = QueryChecker(collaboration)
        self.default_timeout_seconds = default_timeout_seconds
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self._seed = seed
        self._draws = itertools.count()
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=max_concurrent_queries, thread_name_prefix="cleanroom"
        )

    # --- validation --------------------------------------------------------------------------------

    def check(
        self,
        member: str,
        sql: str | None = None,
        *,
        analysis_template: str | None = None,
        parameters: Mapping[str, object] | None = None,
    ) -> QueryCheck:
        """Validate a query against the analysis rules without running it."""
        try:
            checked = self.checker.check(member, sql, analysis_template, parameters)
        except CleanRoomsError as error:
            return QueryCheck(allowed=False, error=error.as_dict())
        plan = checked.private_plan
        return QueryCheck(
            allowed=True,
            rule_type=checked.rule_type,
            tables=tuple(checked.tables),
            epsilon_cost=plan.epsilon_cost if plan else None,
        )

    # --- the protected query lifecycle --------------------------------------------------------------

    def start_protected_query(
        self,
        member: str,
        sql: str | None = None,
        result_format: str = "CSV",
        output_dir: str | Path | None = None,
        parameters: Mapping[str, object] | None = None,
        analysis_template: str | None = None,
        *,
        timeout_seconds: float | None = None,
        wait: bool = True,
    ) -> dict[str, Any]:
        """Submit a query; with ``wait`` (default) return its final record, else the submitted one."""
        result_format = result_format.upper()
        output_dir = Path(output_dir) if output_dir is not None else _default_output_dir()
        record = self._new_record(member, sql, analysis_template, parameters, result_format, output_dir)
        record.timeout_seconds = timeout_seconds or self.default_timeout_seconds
        try:
            checked = self._admit(member, sql, analysis_template, parameters, result_format)
        except CleanRoomsError as error:
            self._finish(record, "FAILED", error=error.as_dict())
            return record.as_dict()
        future = self._executor.submit(self._execute, record, checked, result_format, output_dir)
        if wait:
            future.result()
        else:
            future.add_done_callback(_log_unexpected)
        return record.as_dict()

    def get_protected_query(self, query_id: str) -> dict[str, Any]:
        return self._record(query_id).as_dict()

    def list_protected_queries(self) -> list[dict[str, Any]]:
        with self._lock:
            records = list(self._records.values())
        return [record.as_dict() for record in records]

    def wait_for_protected_query(self, query_id: str, timeout: float | None = None) -> dict[str, Any]:
        record = self._record(query_id)
        record.done.wait(timeout)
        return record.as_dict()

    def cancel_protected_query(self, query_id: str) -> dict[str, Any]:
        """Cancel a submitted or running query (a running one goes through CANCELLING)."""
        record = self._record(query_id)
        with self._lock:
            if record.status in TERMINAL_STATUSES:
                return record.as_dict()
            record.cancel_requested = True
            if record.status == "SUBMITTED":
                self._finish_locked(record, "CANCELLED")
            else:
                record.status = "CANCELLING"
                self._start_interrupting(record)
        return record.as_dict()

    def privacy_budget(self) -> dict[str, Any] | None:
        """The collaboration's privacy budget (``epsilon``, spent, remaining), if it has one."""
        ledger = self._ledger()
        if ledger is None:
            return None
        state = ledger.state()
        policy = self.collaboration.differential_privacy_policy
        return {
            "epsilon": policy.epsilon,
            "usersNoisePerQuery": policy.users_noise_per_query,
            "epsilonSpent": float(state["epsilonSpent"]),
            "epsilonRemaining": ledger.remaining(),
            "deltaSpent": float(state["deltaSpent"]),
            "remainingAggregations": int(ledger.remaining() / policy.epsilon_per_aggregation + 1e-9),
        }

    def close(self) -> None:
        """Cancel what is still queued or running, then stop the workers."""
        with self._lock:
            pending = [
                record.id for record in self._records.values() if record.status not in TERMINAL_STATUSES
            ]
        for query_id in pending:
            self.cancel_protected_query(query_id)
        self._executor.shutdown(wait=True)

    def __enter__(self) -> CleanRoom:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- internals ---------------------------------------------------------------------------------

    def _admit(self, member, sql, analysis_template, parameters, result_format) -> CheckedQuery:
        if result_format not in RESULT_FORMATS:
            raise CleanRoomsError(MALFORMED_QUERY, f"resultFormat must be one of {sorted(RESULT_FORMATS)}.")
        checked = self.checker.check(member, sql, analysis_template, parameters)
        if not self.collaboration.members[member].can("CAN_RECEIVE_RESULTS"):
            raise CleanRoomsError(
                RESOURCE_ACCESS_DENIED,
                f"{member} can query but lacks CAN_RECEIVE_RESULTS, so it can't receive the result.",
            )
        if checked.private_plan is not None:
            self._ledger().ensure_available(checked.private_plan.epsilon_cost)
        return checked

    def _new_record(self, member, sql, template_name, parameters, result_format, output_dir) -> _Record:
        query_id = str(uuid.uuid4())
        membership_id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"adplan-cleanroom:{self.collaboration.name}:{member}")
        )
        account = getattr(self.collaboration.member(member), "account_id", "000000000000")
        sql_parameters: dict[str, Any] = {}
        if template_name:
            sql_parameters["analysisTemplateArn"] = (
                f"arn:aws:cleanrooms:local:{account}:membership/{membership_id}/analysistemplate/{template_name}"
            )
            sql_parameters["parameters"] = {key: str(value) for key, value in (parameters or {}).items()}
        else:
            sql_parameters["queryString"] = sql
        record = _Record(
            id=query_id,
            member=member,
            membership_id=membership_id,
            membership_arn=f"arn:aws:cleanrooms:local:{account}:membership/{membership_id}",
            sql_parameters=sql_parameters,
            result_configuration={
                "outputConfiguration": {
                    "s3": {"resultFormat": result_format, "bucket": str(output_dir), "keyPrefix": query_id}
                }
            },
            create_time=dt.datetime.now(dt.UTC),
        )
        with self._lock:
            self._records[query_id] = record
        return record

    def _record(self, query_id: str) -> _Record:
        with self._lock:
            record = self._records.get(query_id)
        if record is None:
            raise CleanRoomsError(RESOURCE_NOT_FOUND, f"No protected query {query_id} in this clean room.")
        return record

    def _execute(self, record: _Record, checked: CheckedQuery, result_format: str, output_dir: Path) -> None:
        cursor = self.connection.cursor()
        with self._lock:
            if record.status in TERMINAL_STATUSES:  # cancelled while waiting
                cursor.close()
                return
            record.status = "STARTED"
            record.cursor = cursor
        timer = threading.Timer(record.timeout_seconds, self._time_out, args=(record,))
        timer.daemon = True
        timer.start()
        try:
            check_data_locations(cursor, checked, self._allowed_columns())
            target = result_path(output_dir, record.id, result_format)
            run_query(
                cursor,
                checked,
                target,
                result_format,
                query_id=record.id,
                ledger=self._ledger() if checked.private_plan else None,
                rng=self._rng(),
            )
            if checked.private_plan is not None:
                record.differential_privacy = {
                    "sensitivityParameters": checked.private_plan.sensitivity_parameters()
                }
            self._finish(record, "SUCCESS", location=str(target.resolve()))
            if record.status != "SUCCESS":  # cancelled or timed out as it finished: deliver nothing
                target.unlink(missing_ok=True)
        except duckdb.InterruptException:
            if record.timed_out:
                message = f"The query ran longer than its timeout of {record.timeout_seconds:g} s."
                self._finish(record, "TIMED_OUT", error={"code": TIMED_OUT, "message": message})
            else:
                self._finish(record, "CANCELLED")
        except CleanRoomsError as error:
            self._finish(record, "FAILED", error=error.as_dict())
        except Exception as error:
            message = f"Unexpected failure ({type(error).__name__})."
            self._finish(record, "FAILED", error={"code": INTERNAL_ERROR, "message": message})
        finally:
            timer.cancel()
            record.cursor = None
            cursor.close()

    def _time_out(self, record: _Record) -> None:
        with self._lock:
            if record.status == "STARTED":
                record.timed_out = True
                self._start_interrupting(record)

    @staticmethod
    def _start_interrupting(record: _Record) -> None:
        """Interrupt the record's cursor until its query ends.

        DuckDB's interrupt only stops the statement running at that instant; one that lands between two
        statements of the same protected query is lost, so it is repeated until the worker finishes.
        """

        def keep_interrupting() -> None:
            while not record.done.wait(0.05):
                cursor = record.cursor
                if cursor is not None:
                    with contextlib.suppress(duckdb.Error):  # the worker may close it meanwhile
                        cursor.interrupt()

        threading.Thread(
            target=keep_interrupting, name=f"cleanroom-interrupt-{record.id}", daemon=True
        ).start()

    def _finish(self, record: _Record, status: str, **fields: Any) -> None:
        with self._lock:
            self._finish_locked(record, status, **fields)

    @staticmethod
    def _finish_locked(record: _Record, status: str, *, error=None, location=None) -> None:
        if record.status in TERMINAL_STATUSES:
            return
        if status == "SUCCESS" and (record.cancel_requested or record.timed_out):
            # The cancel or timeout arrived as the query finished: its result is not delivered.
            status = "CANCELLED" if record.cancel_requested else "TIMED_OUT"
            location = None
            if status == "TIMED_OUT":
                message = f"The query ran longer than its timeout of {record.timeout_seconds:g} s."
                error = {"code": TIMED_OUT, "message": message}
        record.status = status
        record.error = error
        record.location = location
        elapsed = dt.datetime.now(dt.UTC) - record.create_time
        record.duration_ms = int(elapsed.total_seconds() * 1000)
        record.done.set()

    def _allowed_columns(self) -> dict[str, tuple[str, ...]]:
        return {name: table.allowed_columns for name, table in self.collaboration.configured_tables.items()}

    def _ledger(self) -> PrivacyBudgetLedger | None:
        if self.collaboration.differential_privacy_policy is None:
            return None
        state_dir = self._state_dir or _default_state_dir()
        return PrivacyBudgetLedger.for_collaboration(state_dir, self.collaboration)

    def _rng(self) -> np.random.Generator:
        # A fixed seed (tests) still gives each query its own noise; otherwise fresh OS entropy.
        if self._seed is not None:
            return np.random.default_rng([self._seed, next(self._draws)])
        return np.random.default_rng(secrets.randbits(128))


def _log_unexpected(future: Future) -> None:
    error = future.exception()
    if error is not None:  # _execute catches everything; this is a last resort for bugs
        import logging

        logging.getLogger(__name__).error("clean-room worker failed", exc_info=error)


def _default_output_dir() -> Path:
    from adplan.settings import get_settings

    return get_settings().lake_dir / "cleanrooms" / "results"


def _default_state_dir() -> Path:
    from adplan.settings import get_settings

    return get_settings().home / "cleanrooms"


def wait_until_terminal(
    room: CleanRoom, query_id: str, poll_seconds: float = 0.05, timeout: float = 60
) -> dict:
    """Poll ``get_protected_query`` like a sensor until the query reaches a terminal status."""
    deadline = time.monotonic() + timeout
    while True:
        record = room.get_protected_query(query_id)
        if record["status"] in TERMINAL_STATUSES or time.monotonic() > deadline:
            return record
        time.sleep(poll_seconds)
