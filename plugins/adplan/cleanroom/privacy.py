"""Differential privacy for custom-rule tables that name a user identifier column.

What is released, and why it is (epsilon, delta)-differentially private with respect to adding or
removing every row of one user of the protected table:

1. Query structure: one flat SELECT (no CTE, subquery, window, set operation, HAVING, ORDER BY, LIMIT),
   INNER joins, at most one reference to a protected table, output = GROUP BY expressions plus plain
   aggregates COUNT(*), COUNT(col), COUNT(DISTINCT col), SUM(col), AVG(col). Every row of the joined
   and filtered row set then derives from exactly one row of the protected table, so from one user.
2. Contribution clipping: per user (the protected table's identifier column) at most
   ``userContributionLimit`` = C rows are kept (chosen at random), so one user changes at most C rows
   of the row set, spread over at most C groups. SUM/AVG arguments are clamped to the declared
   ``columnBounds`` [lo, hi], so a row moves a sum by at most M = max(|lo|, |hi|).
3. Laplace mechanism: each aggregate column gets Laplace noise of scale sensitivity / e_q over all
   groups at once (L1 sensitivity C for counts, C*M for sums), so each costs e_q = 1/usersNoisePerQuery
   ("noise of N users" per aggregation). AVG is a noisy SUM over a noisy COUNT: two aggregations.
4. Group release: the groups themselves depend on the data, so a group is released only if a separate
   noisy row count (scale C/e_q, one more aggregation) reaches tau = C + (C/e_q) ln(C / (2 delta)); a
   group that exists only because of one user (at most C rows in at most C groups) is then released
   with probability at most delta. This is the thresholding of Wilson et al., "Differentially Private
   SQL with Bounded User Contribution" (2020). Queries without GROUP BY release one row and cost no
   delta.
5. Budget: e_q per aggregation is charged to the collaboration's budget (``epsilon``) by sequential
   composition, persisted in a ledger file; a query whose cost exceeds what remains is refused before
   anything is released.

Known limits: noise is drawn from numpy's floating-point Laplace sampler (the service uses SampCert, a
verified discrete sampler; floating-point Laplace has known least-significant-bit attacks); the budget
has no monthly refresh; only one protected table per query; bounds are declared, not derived.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import math
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlglot import exp

from adplan.cleanroom.config import Collaboration, CustomRule, DifferentialPrivacyPolicy
from adplan.cleanroom.errors import INVALID_RESOURCE, PRIVACY_BUDGET_EXHAUSTED, CleanRoomsError, invalid
from adplan.cleanroom.shape import check_single_select
from adplan.cleanroom.sql import TableRef, aggregate_argument, aggregate_name

RULE = "differential privacy"
_USER = "__cr_user"
_RANK = "__cr_rank"
_PARTITION_ROWS = "__cr_partition_rows"
_DRAW = "__cr_draw"


@dataclass(frozen=True)
class NoisyAggregate:
    alias: str  # output column name
    kind: str  # COUNT_STAR, COUNT, COUNT_DISTINCT, SUM, AVG
    expression: str  # as written, for the sensitivity report
    argument: exp.Expression | None
    bounds: tuple[float, float] | None = None

    @property
    def aggregations(self) -> int:
        return 2 if self.kind == "AVG" else 1


@dataclass(frozen=True)
class PrivatePlan:
    """A checked DP query: the row set, the user column, the groups and the noisy aggregates."""

    select: exp.Select  # FROM/JOIN/WHERE of the query
    user_column: exp.Column
    groups: list[tuple[str, exp.Expression]]  # (output alias, expression)
    aggregates: list[NoisyAggregate]
    output_order: list[str]
    policy: DifferentialPrivacyPolicy

    @property
    def grouped(self) -> bool:
        return bool(self.groups)

    @property
    def aggregation_count(self) -> int:
        return sum(item.aggregations for item in self.aggregates) + (1 if self.grouped else 0)

    @property
    def epsilon_cost(self) -> float:
        return self.aggregation_count * self.policy.epsilon_per_aggregation

    @property
    def delta_cost(self) -> float:
        return self.policy.delta if self.grouped else 0.0

    def sensitivity_parameters(self) -> list[dict[str, object]]:
        """``ProtectedQuery.differentialPrivacy.sensitivityParameters`` as the service reports them."""
        params = []
        for item in self.aggregates:
            entry: dict[str, object] = {
                "aggregationType": "COUNT" if item.kind == "COUNT_STAR" else item.kind,
                "aggregationExpression": item.expression,
                "userContributionLimit": self.policy.user_contribution_limit,
            }
            if item.bounds:
                entry["minColumnValue"], entry["maxColumnValue"] = item.bounds
            params.append(entry)
        return params


def protected_refs(refs: Mapping[str, TableRef]) -> dict[str, TableRef]:
    return {
        alias: ref
        for alias, ref in refs.items()
        if isinstance(ref.table.analysis_rule, CustomRule) and ref.table.analysis_rule.differential_privacy
    }


def plan_private_query(
    tree: exp.Query, refs: Mapping[str, TableRef], collaboration: Collaboration
) -> PrivatePlan:
    policy = collaboration.differential_privacy_policy
    if policy is None:
        raise CleanRoomsError(
            INVALID_RESOURCE,
            "Tables protected by differential privacy can be queried only after the collaboration has a "
            "differential privacy policy (privacy budget); none is configured.",
        )
    protected = protected_refs(refs)
    if len(protected) != 1:
        raise invalid(
            "A differentially private query can read only one protected table reference (no self-joins)."
        )
    alias, ref = next(iter(protected.items()))
    user_name = ref.table.analysis_rule.differential_privacy.user_column
    select = _check_private_shape(tree)
    user_column = exp.column(user_name, table=alias)
    groups, aggregates, order = _split_projections(select, refs, policy, user_name, alias)
    _check_group_by(select, groups)
    return PrivatePlan(select, user_column, groups, aggregates, order, policy)


def _check_private_shape(tree: exp.Query) -> exp.Select:
    select = check_single_select(tree, RULE)
    for clause in ("distinct", "having", "order", "limit", "offset"):
        if select.args.get(clause):
            raise invalid(f"{clause.upper()} is not supported in differentially private queries.")
    for join in select.args.get("joins") or []:
        kind = (join.args.get("kind") or "INNER").upper()
        if join.args.get("side") or kind != "INNER" or join.args.get("on") is None:
            raise invalid("Differentially private queries use INNER JOIN ... ON only.")
    return select


def _split_projections(select, refs, policy, user_name, protected_alias):
    groups, aggregates, order = [], [], []
    for projection in select.expressions:
        alias = projection.alias_or_name
        expression = projection.unalias()
        order.append(alias)
        if any(isinstance(node, exp.AggFunc) for node in expression.walk()):
            aggregates.append(_noisy_aggregate(alias, expression, refs, policy))
            continue
        for column in expression.find_all(exp.Column):
            if column.table == protected_alias and column.name == user_name:
                raise invalid(f"The user identifier column {user_name} can't be output or grouped on.")
        groups.append((alias, expression))
    if not aggregates:
        raise invalid("A differentially private query must compute at least one COUNT, SUM or AVG.")
    return groups, aggregates, order


def _noisy_aggregate(alias, expression, refs, policy) -> NoisyAggregate:
    kind = aggregate_name(expression)
    if kind not in ("COUNT", "COUNT_DISTINCT", "SUM", "AVG"):
        raise invalid(
            f"{expression.sql()}: differentially private outputs are plain COUNT(*), COUNT(col), "
            "COUNT(DISTINCT col), SUM(col) or AVG(col), one per output column."
        )
    arguments = aggregate_argument(expression)
    if kind == "COUNT" and len(arguments) == 1 and isinstance(arguments[0], exp.Star):
        return NoisyAggregate(alias, "COUNT_STAR", expression.sql(), None)
    if len(arguments) != 1 or not isinstance(arguments[0], exp.Column):
        raise invalid(f"{expression.sql()}: aggregate a single column in differentially private queries.")
    column = arguments[0]
    bounds = None
    if kind in ("SUM", "AVG"):
        key = f"{refs[column.table].table.name}.{column.name}"
        bounds = policy.column_bounds.get(key)
        if bounds is None:
            raise invalid(
                f"{expression.sql()}: SUM/AVG under differential privacy need declared bounds for {key} "
                "(differentialPrivacyPolicy.columnBounds)."
            )
    return NoisyAggregate(alias, kind, expression.sql(), column, bounds)


def _check_group_by(select: exp.Select, groups: list[tuple[str, exp.Expression]]) -> None:
    group = select.args.get("group")
    grouped = sorted(expression.sql() for expression in (group.expressions if group else []))
    if grouped != sorted(expression.sql() for _, expression in groups):
        raise invalid(
            "In differentially private queries GROUP BY must list exactly the selected non-aggregate columns."
        )


# --- execution -------------------------------------------------------------------------------------


def clipped_aggregation_sql(plan: PrivatePlan, dialect: str = "duckdb") -> str:
    """The true per-group aggregates over the row set clipped to C rows per user."""
    rows = plan.select.copy()
    rows.set("group", None)
    row_columns = [exp.alias_(expression.copy(), f"g{i}") for i, (_, expression) in enumerate(plan.groups)]
    for j, item in enumerate(plan.aggregates):
        argument = item.argument.copy() if item.argument is not None else exp.Literal.number(1)
        row_columns.append(exp.alias_(argument, f"a{j}"))
    row_columns.append(exp.alias_(plan.user_column.copy(), _USER))
    row_columns.append(exp.alias_(exp.func("random"), _DRAW))  # which rows a user keeps: chosen at random
    rows.set("expressions", row_columns)
    rows = rows.where(exp.column(plan.user_column.name, table=plan.user_column.table).is_(exp.null()).not_())
    group_keys = [f"g{i}" for i in range(len(plan.groups))]
    measures = [f"COUNT(*) AS {_PARTITION_ROWS}"] + [
        _measure_sql(j, item) for j, item in enumerate(plan.aggregates)
    ]
    group_by = f" GROUP BY {', '.join(group_keys)}" if group_keys else ""
    return (
        f"WITH __cr_rows AS ({rows.sql(dialect)}), "
        f"__cr_clipped AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY {_USER} ORDER BY {_DRAW}) AS {_RANK} "
        f"FROM __cr_rows) "
        f"SELECT {', '.join([*group_keys, *measures])} FROM __cr_clipped "
        f"WHERE {_RANK} <= {plan.policy.user_contribution_limit}{group_by}"
    )


def _measure_sql(j: int, item: NoisyAggregate) -> str:
    column = f"a{j}"
    if item.kind == "COUNT_STAR":
        return f"COUNT(*) AS m{j}"
    if item.kind == "COUNT":
        return f"COUNT({column}) AS m{j}"
    if item.kind == "COUNT_DISTINCT":
        return f"COUNT(DISTINCT {column}) AS m{j}"
    low, high = item.bounds
    clamped = f"LEAST(GREATEST(CAST({column} AS DOUBLE), {low!r}), {high!r})"
    if item.kind == "SUM":
        return f"SUM({clamped}) AS m{j}"
    return f"SUM({clamped}) AS m{j}, COUNT({column}) AS n{j}"  # AVG


def add_noise(true_values: pd.DataFrame, plan: PrivatePlan, rng: np.random.Generator) -> pd.DataFrame:
    """Noisy aggregates per released group, in the query's output column order."""
    limit = plan.policy.user_contribution_limit
    epsilon = plan.policy.epsilon_per_aggregation
    count_scale = limit / epsilon
    frame = true_values
    if plan.grouped:
        noisy_rows = frame[_PARTITION_ROWS] + rng.laplace(0.0, count_scale, len(frame))
        frame = frame[noisy_rows >= release_threshold(plan.policy)].reset_index(drop=True)
    output = {alias: frame[f"g{i}"] for i, (alias, _) in enumerate(plan.groups)}
    for j, item in enumerate(plan.aggregates):
        output[item.alias] = _noisy_measure(frame, j, item, limit, epsilon, rng)
    return pd.DataFrame({alias: output[alias] for alias in plan.output_order})


def _noisy_measure(frame, j, item, limit, epsilon, rng) -> pd.Series:
    size = len(frame)
    count_scale = limit / epsilon
    if item.kind in ("COUNT_STAR", "COUNT", "COUNT_DISTINCT"):
        noisy = frame[f"m{j}"].astype("float64") + rng.laplace(0.0, count_scale, size)
        return noisy.round().clip(lower=0).astype("int64")
    low, high = item.bounds
    sum_scale = limit * max(abs(low), abs(high)) / epsilon
    noisy_sum = frame[f"m{j}"].fillna(0).astype("float64") + rng.laplace(0.0, sum_scale, size)
    if item.kind == "SUM":
        return noisy_sum
    noisy_count = (frame[f"n{j}"].astype("float64") + rng.laplace(0.0, count_scale, size)).clip(lower=1)
    return (noisy_sum / noisy_count).clip(lower=low, upper=high)


def release_threshold(policy: DifferentialPrivacyPolicy) -> float:
    limit = policy.user_contribution_limit
    scale = limit / policy.epsilon_per_aggregation
    return limit + scale * math.log(limit / (2 * policy.delta))


# --- the budget ------------------------------------------------------------------------------------


class PrivacyBudgetLedger:
    """The epsilon (and delta) spent in one collaboration, persisted as JSON beside the engine's state.

    Charges are made under a file lock, so concurrent processes can't both spend the last of it.
    """

    _thread_lock = threading.Lock()

    def __init__(self, path: Path, collaboration: str, epsilon: float) -> None:
        self.path = Path(path)
        self.collaboration = collaboration
        self.epsilon = float(epsilon)

    @classmethod
    def for_collaboration(cls, state_dir: Path, collaboration: Collaboration) -> PrivacyBudgetLedger:
        policy = collaboration.differential_privacy_policy
        slug = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in collaboration.name)
        return cls(Path(state_dir) / f"{slug}.privacy_budget.json", collaboration.name, policy.epsilon)

    def state(self) -> dict[str, object]:
        if not self.path.exists():
            return {
                "collaboration": self.collaboration,
                "epsilonSpent": 0.0,
                "deltaSpent": 0.0,
                "charges": [],
            }
        return json.loads(self.path.read_text(encoding="utf-8"))

    def remaining(self) -> float:
        return max(0.0, self.epsilon - float(self.state()["epsilonSpent"]))

    def ensure_available(self, epsilon: float) -> None:
        remaining = self.remaining()
        if epsilon > remaining + 1e-9:
            raise self._exhausted(epsilon, remaining)

    def charge(self, query_id: str, epsilon: float, delta: float) -> None:
        with self._locked():
            state = self.state()
            remaining = self.epsilon - float(state["epsilonSpent"])
            if epsilon > remaining + 1e-9:
                raise self._exhausted(epsilon, max(0.0, remaining))
            state["epsilonSpent"] = float(state["epsilonSpent"]) + epsilon
            state["deltaSpent"] = float(state["deltaSpent"]) + delta
            state["epsilon"] = self.epsilon
            state["charges"].append(
                {
                    "protectedQueryId": query_id,
                    "epsilon": epsilon,
                    "delta": delta,
                    "time": dt.datetime.now(dt.UTC).isoformat(),
                }
            )
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(state, indent=2), encoding="utf-8")
            os.replace(temporary, self.path)

    def _exhausted(self, epsilon: float, remaining: float) -> CleanRoomsError:
        return CleanRoomsError(
            PRIVACY_BUDGET_EXHAUSTED,
            f"The query needs epsilon {epsilon:.3f} but only {remaining:.3f} of the collaboration's privacy budget "
            f"({self.epsilon:g}) remains; fewer aggregations per query or a larger budget would be needed.",
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
