"""The collaboration, read from ``include/config/collaboration.yaml`` in the shapes of the Clean Rooms API.

- members: ``CreateCollaboration``'s ``MemberSpecification`` (``accountId``, ``displayName``,
  ``memberAbilities``); ``displayName`` is how the rest of the file and the engine name a member.
- configuredTables: ``CreateConfiguredTable`` (``name``, ``tableReference.glue.tableName`` = the
  warehouse table, ``allowedColumns``) plus ``owner`` (the member who associated it) and
  ``analysisRule = {type, policy}`` where ``policy`` is the ``AnalysisRulePolicy`` exactly as
  ``CreateConfiguredTableAnalysisRule`` takes it (``{"v1": {"aggregation" | "list" | "custom": {...}}}``).
- analysisTemplates: ``CreateAnalysisTemplate`` (``name``, ``format: SQL``, ``source.text`` with ``:param``
  placeholders, ``analysisParameters``) plus ``owner``, the member who created it.
- differentialPrivacyPolicy: ``CreatePrivacyBudgetTemplate``'s parameters (``epsilon`` 1-20,
  ``usersNoisePerQuery`` 10-100). The service derives contribution limits and value bounds itself;
  this engine needs them declared, so the policy has two local fields: ``userContributionLimit`` and
  ``columnBounds`` (``"table.column": [min, max]``), plus ``delta`` for group release.

Loading checks the constraints the API enforces (enums, ranges, columns within ``allowedColumns``), so a
bad file fails at load, not at query time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from adplan.cleanroom.errors import CollaborationConfigError

ANALYTICS_ENGINES = {"CLEAN_ROOMS_SQL": "redshift", "SPARK": "spark"}
MEMBER_ABILITIES = frozenset(
    {"CAN_QUERY", "CAN_RECEIVE_RESULTS", "CAN_RUN_JOB", "CAN_EXPORT_QUERY_ANALYSIS_LOG"}
)
AGGREGATE_FUNCTIONS = frozenset({"SUM", "SUM_DISTINCT", "COUNT", "COUNT_DISTINCT", "AVG"})
SCALAR_FUNCTIONS = frozenset(
    {
        "ABS", "CAST", "CEILING", "COALESCE", "CONVERT", "CURRENT_DATE", "DATEADD", "EXTRACT", "FLOOR",
        "GETDATE", "LN", "LOG", "LOWER", "ROUND", "RTRIM", "SQRT", "SUBSTRING", "TO_CHAR", "TO_DATE",
        "TO_NUMBER", "TO_TIMESTAMP", "TRIM", "TRUNC", "UPPER",
    }
)  # fmt: skip
JOIN_OPERATORS = frozenset({"AND", "OR"})
ANY_QUERY = "ANY_QUERY"
PARAMETER_TYPES = frozenset(
    {
        "SMALLINT", "INTEGER", "BIGINT", "DECIMAL", "REAL", "DOUBLE_PRECISION", "BOOLEAN", "CHAR", "VARCHAR",
        "DATE", "TIMESTAMP", "TIMESTAMPTZ", "CHARACTER", "DOUBLE", "FLOAT", "INT", "LONG", "NUMERIC", "SHORT",
        "STRING", "TIMESTAMP_LTZ", "TIMESTAMP_NTZ", "TINYINT",
    }
)  # fmt: skip
# The API's pattern for column names in analysis rules.
COLUMN_NAME = re.compile(r"^[a-z0-9_](([a-z0-9_ ]+-)*([a-z0-9_ ]+))?$")
OUTPUT_CONSTRAINT_RANGE = (2, 100_000)
EPSILON_RANGE = (1, 20)
USERS_NOISE_RANGE = (10, 100)


def _fail(where: str, message: str) -> CollaborationConfigError:
    return CollaborationConfigError(f"{where}: {message}")


def _names(values: Iterable[Any], where: str) -> tuple[str, ...]:
    names = tuple(str(value) for value in values)
    for name in names:
        if not COLUMN_NAME.match(name):
            raise _fail(where, f"{name!r} is not a valid column name (lower case letters, digits, _)")
    return names


def _require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping or mapping[key] is None:
        raise _fail(where, f"missing required field {key!r}")
    return mapping[key]


def _in_range(value: Any, bounds: tuple[int, int], where: str, name: str) -> int:
    low, high = bounds
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _fail(where, f"{name} must be an integer from {low} to {high}, not {value!r}")
    return value


@dataclass(frozen=True)
class Member:
    name: str
    account_id: str
    abilities: frozenset[str]

    def can(self, ability: str) -> bool:
        return ability in self.abilities


@dataclass(frozen=True)
class AggregateColumn:
    column_names: tuple[str, ...]
    function: str


@dataclass(frozen=True)
class AggregationConstraint:
    column_name: str
    minimum: int
    type: str = "COUNT_DISTINCT"


@dataclass(frozen=True)
class AggregationRule:
    aggregate_columns: tuple[AggregateColumn, ...]
    join_columns: frozenset[str]
    dimension_columns: frozenset[str]
    scalar_functions: frozenset[str]
    output_constraints: tuple[AggregationConstraint, ...]
    allowed_join_operators: frozenset[str] = frozenset({"AND"})
    join_required: str | None = None
    rule_type = "AGGREGATION"

    def functions_for(self, column: str) -> frozenset[str]:
        """The aggregate functions (``SUM``, ``COUNT_DISTINCT``, ...) the rule allows on ``column``."""
        return frozenset(agg.function for agg in self.aggregate_columns if column in agg.column_names)

    @property
    def referenced_columns(self) -> frozenset[str]:
        aggregated = {name for agg in self.aggregate_columns for name in agg.column_names}
        constrained = {constraint.column_name for constraint in self.output_constraints}
        return frozenset(aggregated | constrained | self.join_columns | self.dimension_columns)


@dataclass(frozen=True)
class ListRule:
    join_columns: frozenset[str]
    list_columns: frozenset[str]
    allowed_join_operators: frozenset[str] = frozenset({"AND"})
    rule_type = "LIST"

    @property
    def referenced_columns(self) -> frozenset[str]:
        return self.join_columns | self.list_columns


@dataclass(frozen=True)
class DifferentialPrivacyColumns:
    """``AnalysisRuleCustom.differentialPrivacy``: the column(s) identifying the users to protect."""

    columns: tuple[str, ...]

    @property
    def user_column(self) -> str:
        return self.columns[0]


@dataclass(frozen=True)
class CustomRule:
    allowed_analyses: tuple[str, ...]
    allowed_analysis_providers: frozenset[str]  # member display names (resolved from account ids)
    disallowed_output_columns: frozenset[str] = frozenset()
    differential_privacy: DifferentialPrivacyColumns | None = None
    rule_type = "CUSTOM"

    @property
    def allows_any_query(self) -> bool:
        return ANY_QUERY in self.allowed_analyses

    @property
    def referenced_columns(self) -> frozenset[str]:
        dp_columns = set(self.differential_privacy.columns) if self.differential_privacy else set()
        return frozenset(self.disallowed_output_columns | dp_columns)


AnalysisRule = AggregationRule | ListRule | CustomRule


@dataclass(frozen=True)
class ConfiguredTable:
    name: str
    owner: str
    table_name: str  # the data location: a table (or view) in the warehouse
    allowed_columns: tuple[str, ...]
    analysis_rule: AnalysisRule
    description: str = ""

    @property
    def rule_type(self) -> str:
        return self.analysis_rule.rule_type


@dataclass(frozen=True)
class AnalysisParameter:
    name: str
    type: str
    default_value: str | None = None


@dataclass(frozen=True)
class AnalysisTemplate:
    name: str
    owner: str
    sql: str
    parameters: tuple[AnalysisParameter, ...] = ()
    description: str = ""

    def parameter(self, name: str) -> AnalysisParameter | None:
        return next((param for param in self.parameters if param.name == name), None)


@dataclass(frozen=True)
class DifferentialPrivacyPolicy:
    epsilon: int
    users_noise_per_query: int
    user_contribution_limit: int = 10
    column_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    delta: float = 1e-6

    @property
    def epsilon_per_aggregation(self) -> float:
        """Noise of N users per aggregation = Laplace scale N x sensitivity, i.e. epsilon 1/N each."""
        return 1.0 / self.users_noise_per_query

    @property
    def max_aggregations(self) -> int:
        return self.epsilon * self.users_noise_per_query


@dataclass(frozen=True)
class Collaboration:
    name: str
    analytics_engine: str
    members: Mapping[str, Member]
    configured_tables: Mapping[str, ConfiguredTable]
    analysis_templates: Mapping[str, AnalysisTemplate] = field(default_factory=dict)
    differential_privacy_policy: DifferentialPrivacyPolicy | None = None
    description: str = ""

    @property
    def dialect(self) -> str:
        """The sqlglot dialect of the collaboration's SQL: Clean Rooms SQL is Redshift-derived."""
        return ANALYTICS_ENGINES[self.analytics_engine]

    def member(self, name: str) -> Member | None:
        return self.members.get(name)

    def table(self, name: str) -> ConfiguredTable | None:
        return self.configured_tables.get(name.lower())

    def tables_owned_by(self, member: str) -> list[str]:
        return sorted(name for name, table in self.configured_tables.items() if table.owner == member)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Collaboration:
        return _parse_collaboration(document)

    @classmethod
    def load(cls, path: str | Path) -> Collaboration:
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(yaml.safe_load(handle))


def load_collaboration(path: str | Path | None = None) -> Collaboration:
    """Read the collaboration file (default: ``include/config/collaboration.yaml``)."""
    if path is None:
        from adplan.settings import get_settings

        path = get_settings().config_dir / "collaboration.yaml"
    return Collaboration.load(path)


# --- parsing ---------------------------------------------------------------------------------------


def _parse_collaboration(document: Mapping[str, Any]) -> Collaboration:
    header = _require(document, "collaboration", "collaboration file")
    engine = header.get("analyticsEngine", "CLEAN_ROOMS_SQL")
    if engine not in ANALYTICS_ENGINES:
        raise _fail("collaboration", f"analyticsEngine must be one of {sorted(ANALYTICS_ENGINES)}")
    members = _parse_members(_require(document, "members", "collaboration file"))
    tables: dict[str, ConfiguredTable] = {}
    for raw in _require(document, "configuredTables", "collaboration file"):
        table = _parse_table(raw, members)
        if table.name in tables:
            raise _fail(f"configured table {table.name}", "duplicate name")
        tables[table.name] = table
    templates = {}
    for raw in document.get("analysisTemplates") or []:
        template = _parse_template(raw, members)
        templates[template.name] = template
    _check_template_references(tables, templates)
    policy = _parse_privacy_policy(document.get("differentialPrivacyPolicy"))
    return Collaboration(
        name=str(_require(header, "name", "collaboration")),
        description=str(header.get("description", "")),
        analytics_engine=engine,
        members=members,
        configured_tables=tables,
        analysis_templates=templates,
        differential_privacy_policy=policy,
    )


def _parse_members(raw_members: Iterable[Mapping[str, Any]]) -> dict[str, Member]:
    members: dict[str, Member] = {}
    for raw in raw_members:
        name = str(_require(raw, "displayName", "member"))
        abilities = frozenset(raw.get("memberAbilities") or [])
        unknown = abilities - MEMBER_ABILITIES
        if unknown:
            raise _fail(f"member {name}", f"unknown memberAbilities {sorted(unknown)}")
        members[name] = Member(
            name=name, account_id=str(_require(raw, "accountId", name)), abilities=abilities
        )
    return members


def _member_name(reference: Any, members: Mapping[str, Member], where: str) -> str:
    """A member named by display name or by account id (the API uses account ids)."""
    reference = str(reference)
    if reference in members:
        return reference
    for member in members.values():
        if member.account_id == reference:
            return member.name
    raise _fail(where, f"{reference!r} is not a member of the collaboration")


def _parse_table(raw: Mapping[str, Any], members: Mapping[str, Member]) -> ConfiguredTable:
    name = str(_require(raw, "name", "configured table")).lower()
    where = f"configured table {name}"
    owner = _member_name(_require(raw, "owner", where), members, where)
    glue = _require(_require(raw, "tableReference", where), "glue", where)
    allowed = _names(_require(raw, "allowedColumns", where), where)
    rule_spec = _require(raw, "analysisRule", where)
    rule = parse_analysis_rule_policy(_require(rule_spec, "policy", where), members, where)
    declared_type = rule_spec.get("type", rule.rule_type)
    if declared_type != rule.rule_type:
        raise _fail(where, f"analysisRule.type {declared_type} does not match its policy ({rule.rule_type})")
    outside = sorted(set(rule.referenced_columns) - set(allowed))
    if outside:
        raise _fail(where, f"analysis rule names columns outside allowedColumns: {outside}")
    return ConfiguredTable(
        name=name,
        owner=owner,
        table_name=str(_require(glue, "tableName", where)),
        allowed_columns=allowed,
        analysis_rule=rule,
        description=str(raw.get("description", "")),
    )


def parse_analysis_rule_policy(
    policy: Mapping[str, Any], members: Mapping[str, Member], where: str = "analysis rule"
) -> AnalysisRule:
    """An ``AnalysisRulePolicy`` (``{"v1": {"aggregation": {...}}}``, ``list`` or ``custom``)."""
    v1 = _require(policy, "v1", where)
    kinds = [kind for kind in ("aggregation", "list", "custom") if kind in v1]
    if len(kinds) != 1:
        raise _fail(where, "policy.v1 must hold exactly one of aggregation, list, custom")
    body = v1[kinds[0]]
    if kinds[0] == "aggregation":
        return _parse_aggregation(body, where)
    if kinds[0] == "list":
        return _parse_list(body, where)
    return _parse_custom(body, members, where)


def _join_operators(body: Mapping[str, Any], where: str) -> frozenset[str]:
    operators = frozenset(body.get("allowedJoinOperators") or ["AND"])
    if not operators <= JOIN_OPERATORS:
        raise _fail(where, f"allowedJoinOperators must be within {sorted(JOIN_OPERATORS)}")
    return operators


def _parse_aggregation(body: Mapping[str, Any], where: str) -> AggregationRule:
    aggregate_columns = []
    for raw in _require(body, "aggregateColumns", where):
        function = _require(raw, "function", where)
        if function not in AGGREGATE_FUNCTIONS:
            raise _fail(where, f"aggregate function {function!r} is not one of {sorted(AGGREGATE_FUNCTIONS)}")
        aggregate_columns.append(
            AggregateColumn(_names(_require(raw, "columnNames", where), where), function)
        )
    if not aggregate_columns:
        raise _fail(where, "aggregateColumns needs at least one entry")
    scalar = frozenset(_require(body, "scalarFunctions", where))
    if not scalar <= SCALAR_FUNCTIONS:
        raise _fail(where, f"unknown scalarFunctions {sorted(scalar - SCALAR_FUNCTIONS)}")
    constraints = []
    for raw in _require(body, "outputConstraints", where):
        if raw.get("type", "COUNT_DISTINCT") != "COUNT_DISTINCT":
            raise _fail(where, "outputConstraints type must be COUNT_DISTINCT")
        minimum = _in_range(_require(raw, "minimum", where), OUTPUT_CONSTRAINT_RANGE, where, "minimum")
        constraints.append(
            AggregationConstraint(_names([_require(raw, "columnName", where)], where)[0], minimum)
        )
    if not constraints:
        raise _fail(where, "outputConstraints needs at least one entry")
    join_required = body.get("joinRequired")
    if join_required not in (None, "QUERY_RUNNER"):
        raise _fail(where, "joinRequired must be QUERY_RUNNER when given")
    join_columns = frozenset(_names(_require(body, "joinColumns", where), where))
    dimension_columns = frozenset(_names(_require(body, "dimensionColumns", where), where))
    # A join column may never be output, and a dimension column is output: a column can't be both.
    overlap = join_columns & dimension_columns
    if overlap:
        raise _fail(where, f"columns can't be both join and dimension columns: {sorted(overlap)}")
    return AggregationRule(
        aggregate_columns=tuple(aggregate_columns),
        join_columns=join_columns,
        dimension_columns=dimension_columns,
        scalar_functions=scalar,
        output_constraints=tuple(constraints),
        allowed_join_operators=_join_operators(body, where),
        join_required=join_required,
    )


def _parse_list(body: Mapping[str, Any], where: str) -> ListRule:
    join_columns = frozenset(_names(_require(body, "joinColumns", where), where))
    if not join_columns:
        raise _fail(where, "a list rule needs at least one join column")
    return ListRule(
        join_columns=join_columns,
        list_columns=frozenset(_names(_require(body, "listColumns", where), where)),
        allowed_join_operators=_join_operators(body, where),
    )


def _parse_custom(body: Mapping[str, Any], members: Mapping[str, Member], where: str) -> CustomRule:
    allowed = tuple(str(name) for name in _require(body, "allowedAnalyses", where))
    providers = frozenset(
        _member_name(provider, members, where) for provider in body.get("allowedAnalysisProviders") or []
    )
    if ANY_QUERY in allowed and not providers:
        raise _fail(where, "allowedAnalysisProviders is required when allowedAnalyses is ANY_QUERY")
    if ANY_QUERY in allowed and len(allowed) > 1:
        raise _fail(where, "allowedAnalyses is either ANY_QUERY or a list of analysis templates, not both")
    privacy = body.get("differentialPrivacy")
    dp_columns = None
    if privacy:
        names = _names(
            [_require(column, "name", where) for column in _require(privacy, "columns", where)], where
        )
        if len(names) != 1:
            raise _fail(where, "differentialPrivacy supports exactly one user identifier column here")
        dp_columns = DifferentialPrivacyColumns(names)
    return CustomRule(
        allowed_analyses=allowed,
        allowed_analysis_providers=providers,
        disallowed_output_columns=frozenset(_names(body.get("disallowedOutputColumns") or [], where)),
        differential_privacy=dp_columns,
    )


def _parse_template(raw: Mapping[str, Any], members: Mapping[str, Member]) -> AnalysisTemplate:
    name = str(_require(raw, "name", "analysis template"))
    where = f"analysis template {name}"
    if raw.get("format", "SQL") != "SQL":
        raise _fail(where, "only format SQL is supported")
    parameters = []
    for param in raw.get("analysisParameters") or []:
        param_name = str(_require(param, "name", where))
        if not re.fullmatch(r"[A-Za-z0-9_]+", param_name):
            raise _fail(where, f"parameter name {param_name!r} must be letters, digits and _")
        param_type = str(_require(param, "type", where)).upper()
        if param_type not in PARAMETER_TYPES:
            raise _fail(where, f"parameter {param_name} has unsupported type {param_type}")
        default = param.get("defaultValue")
        parameters.append(
            AnalysisParameter(param_name, param_type, None if default is None else str(default))
        )
    return AnalysisTemplate(
        name=name,
        owner=_member_name(_require(raw, "owner", where), members, where),
        sql=str(_require(_require(raw, "source", where), "text", where)),
        parameters=tuple(parameters),
        description=str(raw.get("description", "")),
    )


def _check_template_references(tables: Mapping[str, ConfiguredTable], templates: Mapping[str, Any]) -> None:
    for table in tables.values():
        rule = table.analysis_rule
        if isinstance(rule, CustomRule):
            unknown = [name for name in rule.allowed_analyses if name != ANY_QUERY and name not in templates]
            if unknown:
                raise _fail(
                    f"configured table {table.name}", f"allowedAnalyses names unknown templates {unknown}"
                )


def _parse_privacy_policy(raw: Mapping[str, Any] | None) -> DifferentialPrivacyPolicy | None:
    if not raw:
        return None
    where = "differentialPrivacyPolicy"
    params = _require(_require(raw, "parameters", where), "differentialPrivacy", where)
    bounds = {}
    for column, pair in (raw.get("columnBounds") or {}).items():
        low, high = (float(value) for value in pair)
        if not low <= high:
            raise _fail(where, f"columnBounds for {column} must be [min, max]")
        bounds[str(column).lower()] = (low, high)
    limit = _in_range(raw.get("userContributionLimit", 10), (1, 10_000), where, "userContributionLimit")
    delta = float(raw.get("delta", 1e-6))
    if not 0 < delta < 1e-3:
        raise _fail(where, "delta must be in (0, 0.001)")
    return DifferentialPrivacyPolicy(
        epsilon=_in_range(_require(params, "epsilon", where), EPSILON_RANGE, where, "epsilon"),
        users_noise_per_query=_in_range(
            _require(params, "usersNoisePerQuery", where), USERS_NOISE_RANGE, where, "usersNoisePerQuery"
        ),
        user_contribution_limit=limit,
        column_bounds=bounds,
        delta=delta,
    )
