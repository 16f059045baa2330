"""From a member's SQL (or an analysis template) to a checked, executable query, or a refusal.

Order of checks, each failing with the service's kind of error:
1. the member exists and has ``CAN_QUERY``;
2. the SQL parses as one SELECT in the collaboration's dialect; template parameters bind;
3. every table is a configured table, and all have the same analysis rule type;
4. columns qualify against ``allowedColumns``;
5. the rule type's checks (aggregation, list, custom incl. differential privacy) on every column of
   every referenced table, the most restrictive table winning;
6. configured table names are replaced by their data locations, for DuckDB.

An analysis template's steps 2-4 (without binding) run once per template and checker, as the service
validates a template when it is created; each run binds its parameters into a copy of that tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlglot import exp

from adplan.cleanroom.aggregation import OutputConstraint, add_output_constraints, check_aggregation_query
from adplan.cleanroom.config import AnalysisTemplate, Collaboration
from adplan.cleanroom.custom import (
    annotate_rules,
    check_custom_authorization,
    check_disallowed_output_columns,
)
from adplan.cleanroom.errors import (
    RESOURCE_ACCESS_DENIED,
    RESOURCE_NOT_FOUND,
    CleanRoomsError,
    invalid,
    malformed,
)
from adplan.cleanroom.listing import check_list_query
from adplan.cleanroom.or_joins import expand_or_joins
from adplan.cleanroom.privacy import PrivatePlan, clipped_aggregation_sql, plan_private_query, protected_refs
from adplan.cleanroom.shape import reject_stars
from adplan.cleanroom.sql import (
    TableRef,
    bind_parameters,
    check_table_names,
    cte_names,
    parse_query,
    placeholders,
    qualify_query,
    scopes,
    table_references,
)


@dataclass
class CheckedQuery:
    """A query that passed every check, ready to run on the warehouse."""

    member: str
    query_string: str
    rule_type: str
    tables: list[str]
    tree: exp.Query  # qualified, configured tables replaced by their data locations
    data_locations: dict[str, str]
    output_constraints: list[OutputConstraint] = field(default_factory=list)
    private_plan: PrivatePlan | None = None
    template: AnalysisTemplate | None = None
    parameters: dict[str, str] = field(default_factory=dict)

    def executable_sql(self) -> str:
        """DuckDB SQL; for aggregation queries it carries the output constraints in HAVING."""
        if self.private_plan is not None:
            return clipped_aggregation_sql(self.private_plan)
        tree = self.tree.copy()
        if self.output_constraints:
            tree = add_output_constraints(tree, self.output_constraints)
        if self.rule_type in ("AGGREGATION", "LIST"):
            tree = expand_or_joins(tree)
        return tree.sql(dialect="duckdb")


class QueryChecker:
    def __init__(self, collaboration: Collaboration) -> None:
        self.collaboration = collaboration
        # An analysis template is parsed once, as the service validates one when it is created; each
        # run checks a copy of the parsed tree (bound to its parameters), so nothing carries over.
        self._template_trees: dict[tuple[str, str], tuple[exp.Query, str]] = {}

    def check(
        self,
        member: str,
        sql: str | None = None,
        analysis_template: str | None = None,
        parameters: Mapping[str, object] | None = None,
    ) -> CheckedQuery:
        self._check_member(member)
        template = self._template(sql, analysis_template)
        query_string = template.sql if template else sql
        if not query_string or not query_string.strip():
            raise malformed("Give the SQL to run, or the name of an analysis template.")
        if template is not None:
            tree, rule_type = self._prepared_template(template)
            bound = self._bind(tree, template, parameters)
        else:
            tree = parse_query(query_string, self.collaboration.dialect)
            bound = self._bind(tree, template, parameters)
            tree, rule_type = self._prepare(tree)
        tree_scopes = scopes(tree)
        refs = table_references(tree_scopes, self.collaboration)
        checked = CheckedQuery(
            member=member,
            query_string=query_string,
            rule_type=rule_type,
            tables=sorted({ref.table.name for ref in refs}),
            tree=tree,
            data_locations={ref.table.name: ref.table.table_name for ref in refs},
            template=template,
            parameters=bound,
        )
        self._check_rules(checked, refs, tree_scopes)
        _use_data_locations(refs)
        return checked

    def _check_member(self, member: str) -> None:
        found = self.collaboration.member(member)
        if found is None:
            raise CleanRoomsError(
                RESOURCE_NOT_FOUND,
                f"{member} is not a member of collaboration {self.collaboration.name}; "
                f"members: {sorted(self.collaboration.members)}.",
            )
        if not found.can("CAN_QUERY"):
            queriers = sorted(
                name for name, other in self.collaboration.members.items() if other.can("CAN_QUERY")
            )
            raise CleanRoomsError(
                RESOURCE_ACCESS_DENIED,
                f"{member} does not have the CAN_QUERY ability in collaboration {self.collaboration.name}; "
                f"members who can query: {queriers}.",
            )

    def _template(self, sql: str | None, name: str | None) -> AnalysisTemplate | None:
        if name is None:
            return None
        if sql:
            raise malformed("Give either SQL or an analysis template, not both.")
        template = self.collaboration.analysis_templates.get(name)
        if template is None:
            raise CleanRoomsError(
                RESOURCE_NOT_FOUND,
                f"Analysis template {name} does not exist; templates: {sorted(self.collaboration.analysis_templates)}.",
            )
        return template

    def _prepare(self, tree: exp.Query) -> tuple[exp.Query, str]:
        """Configured tables only, one rule type, no stars where the rule forbids them; qualified."""
        check_table_names(tree, self.collaboration)
        rule_type = self._rule_type(tree)
        if rule_type in ("AGGREGATION", "LIST"):
            reject_stars(tree, rule_type.lower())
        return qualify_query(tree, self.collaboration), rule_type

    def _prepared_template(self, template: AnalysisTemplate) -> tuple[exp.Query, str]:
        """A copy of the template's parsed and qualified tree, its placeholders not yet bound.

        Parameters are typed literals and never change which columns a query reads, so the tree is
        prepared once per template, as the service validates a template when it is created.
        """
        key = (template.name, template.sql)
        if key not in self._template_trees:
            tree, rule_type = self._prepare(parse_query(template.sql, self.collaboration.dialect))
            if rule_type != "CUSTOM":
                raise invalid("Analysis templates run only on tables with a custom analysis rule.")
            self._template_trees[key] = (tree, rule_type)
        tree, rule_type = self._template_trees[key]
        return tree.copy(), rule_type

    @staticmethod
    def _bind(tree: exp.Query, template: AnalysisTemplate | None, parameters) -> dict[str, str]:
        if template is not None:
            return bind_parameters(tree, template, parameters)
        if parameters:
            raise malformed("Parameters can be given only to analysis templates.")
        if placeholders(tree):
            raise malformed("Parameter placeholders (:name) are allowed only in analysis templates.")
        return {}

    def _rule_type(self, tree: exp.Query) -> str:
        ctes = cte_names(tree)
        types = {}
        for node in tree.find_all(exp.Table):
            if node.name.lower() not in ctes:
                table = self.collaboration.table(node.name)
                types[table.name] = table.rule_type
        if not types:
            raise invalid("A clean-room query must read at least one configured table.")
        if len(set(types.values())) > 1:
            listed = ", ".join(f"{name} is {kind}" for name, kind in sorted(types.items()))
            raise invalid(
                f"Queries can only reference configured tables with the same analysis rule type: {listed}."
            )
        return next(iter(types.values()))

    def _check_rules(self, checked: CheckedQuery, refs: list[TableRef], tree_scopes) -> None:
        by_alias = {ref.alias: ref for ref in refs}
        if checked.rule_type == "AGGREGATION":
            checked.output_constraints = check_aggregation_query(
                checked.tree, by_alias, self.collaboration, checked.member
            )
        elif checked.rule_type == "LIST":
            check_list_query(checked.tree, by_alias, self.collaboration, checked.member)
        else:
            check_custom_authorization(refs, checked.member, checked.template)
            annotate_rules(refs)
            check_disallowed_output_columns(checked.tree, tree_scopes)
            if protected_refs(by_alias):
                checked.private_plan = plan_private_query(checked.tree, by_alias, self.collaboration)


def _use_data_locations(refs: list[TableRef]) -> None:
    """Point each configured table reference at its warehouse table, keeping the query's alias."""
    for ref in refs:
        if not ref.node.alias:
            ref.node.set("alias", exp.TableAlias(this=exp.to_identifier(ref.alias)))
        location = exp.to_table(ref.table.table_name)
        ref.node.set("this", location.this)
        ref.node.set("db", location.args.get("db"))
        ref.node.set("catalog", location.args.get("catalog"))
