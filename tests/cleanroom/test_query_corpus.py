"""A corpus of queries per analysis rule: those the rules allow, and those they must refuse (and why).

Allowed queries follow the shapes of the service's documentation examples; refused ones are the usual
ways of getting row-level data out of a clean room. Each refusal names an error code and a fragment of
the message that tells the collaborator what to change.
"""

from __future__ import annotations

import pytest

OVERLAP = (
    "SELECT c.segment, COUNT(DISTINCT c.email_sha256) AS overlap FROM adv_customers c "
    "INNER JOIN pub_audience p ON c.email_sha256 = p.email_sha256 GROUP BY c.segment"
)

ALLOWED = {
    # --- aggregation ---
    "overlap by segment": ("advertiser", OVERLAP),
    "overlap with dimensions of both tables": (
        "advertiser",
        "SELECT c.segment, p.interest, COUNT(DISTINCT p.email_sha256) AS n FROM adv_customers AS c "
        "JOIN pub_audience AS p ON c.email_sha256 = p.email_sha256 AND c.phone_sha256 = p.phone_sha256 "
        "WHERE p.age_band IN ('18-24', '25-34') AND c.region = 'north' GROUP BY 1, 2 HAVING COUNT(DISTINCT c.email_sha256) > 1 "
        "ORDER BY n DESC",
    ),
    "scalar functions on dimensions and aggregates": (
        "advertiser",
        "SELECT UPPER(c.segment) AS seg, ROUND(CAST(COUNT(DISTINCT c.email_sha256) AS DOUBLE PRECISION) / 10, 1) AS tens "
        "FROM adv_customers c JOIN pub_audience p ON c.email_sha256 = p.email_sha256 GROUP BY UPPER(c.segment)",
    ),
    "reach and frequency": (
        "agency",
        "SELECT i.campaign_id, COUNT(DISTINCT i.email_sha256) AS reach, COUNT(i.ts) AS impressions, "
        "ROUND(CAST(COUNT(i.ts) AS DOUBLE PRECISION) / COUNT(DISTINCT i.email_sha256), 2) AS frequency "
        "FROM pub_impressions i JOIN adv_customers c ON i.email_sha256 = c.email_sha256 GROUP BY i.campaign_id",
    ),
    "single table aggregate without join": (
        "agency",
        "SELECT c.region, COUNT(DISTINCT c.phone_sha256) AS customers FROM adv_customers c GROUP BY c.region",
    ),
    "global aggregate": ("agency", "SELECT COUNT(DISTINCT email_sha256) AS customers FROM adv_customers"),
    # --- list ---
    "enrichment list": (
        "advertiser",
        "SELECT DISTINCT c.customer_id, p.interest, p.age_band FROM adv_customers_list c "
        "JOIN pub_audience_list p ON c.email_sha256 = p.email_sha256 WHERE p.region = 'north' LIMIT 100",
    ),
    "list with OR join allowed by both": (
        "advertiser",
        "SELECT DISTINCT c.customer_id, p.interest FROM adv_customers_list c "
        "JOIN pub_audience_list p ON c.email_sha256 = p.email_sha256",
    ),
    # --- custom ---
    "custom direct query by an allowed provider": (
        "agency",
        "WITH per_user AS (SELECT email_sha256, COUNT(*) AS n FROM pub_impressions_any GROUP BY email_sha256) "
        "SELECT n AS frequency, COUNT(*) AS users FROM per_user GROUP BY n ORDER BY n",
    ),
    "custom window function and outer join": (
        "agency",
        "SELECT i.campaign_id, COUNT(DISTINCT i.email_sha256) OVER (PARTITION BY i.campaign_id) AS reach "
        "FROM pub_impressions_any i LEFT JOIN pub_impressions_any j ON i.email_sha256 = j.email_sha256",
    ),
}


@pytest.mark.parametrize(("member", "sql"), list(ALLOWED.values()), ids=list(ALLOWED))
def test_allowed_queries_pass_check_and_run(room, tmp_path, member, sql):
    check = room.check(member, sql)
    assert check.allowed, check.error
    record = room.start_protected_query(member, sql, "CSV", tmp_path)
    assert record["status"] == "SUCCESS", record.get("error")


REFUSED = {
    # --- aggregation: output of join / non-dimension columns ---
    "join column in SELECT": (
        "advertiser",
        "SELECT c.email_sha256, COUNT(DISTINCT c.phone_sha256) FROM adv_customers c GROUP BY c.email_sha256",
        "INVALID_QUERY",
        "is a join column",
    ),
    "join column in WHERE": (
        "agency",
        "SELECT COUNT(DISTINCT c.phone_sha256) FROM adv_customers c WHERE c.email_sha256 = 'e00001'",
        "INVALID_QUERY",
        "is a join column",
    ),
    "aggregate over a non-aggregate column": (
        "agency",
        "SELECT COUNT(DISTINCT c.segment) AS n FROM adv_customers c",
        "INVALID_QUERY",
        "COUNT_DISTINCT is not allowed on adv_customers.segment",
    ),
    "function not allowed on an aggregate column": (
        "agency",
        "SELECT SUM(c.email_sha256) AS n FROM adv_customers c",
        "INVALID_QUERY",
        "SUM is not allowed",
    ),
    "expression inside an aggregate": (
        "agency",
        "SELECT COUNT(DISTINCT LOWER(c.email_sha256)) AS n FROM adv_customers c",
        "INVALID_QUERY",
        "exactly one column",
    ),
    "MAX is no aggregation rule function": (
        "agency",
        "SELECT MAX(c.email_sha256) AS n FROM adv_customers c",
        "INVALID_QUERY",
        "not an aggregation function",
    ),
    "SELECT *": ("agency", "SELECT * FROM adv_customers", "INVALID_QUERY", "SELECT *"),
    "COUNT(*)": ("agency", "SELECT COUNT(*) FROM adv_customers", "INVALID_QUERY", "COUNT(*)"),
    "no aggregate at all": (
        "agency",
        "SELECT c.segment FROM adv_customers c GROUP BY c.segment",
        "INVALID_QUERY",
        "at least one aggregate",
    ),
    "threshold evasion by grouping on a unique column": (
        "agency",
        "SELECT c.customer_id, COUNT(DISTINCT c.email_sha256) FROM adv_customers c GROUP BY c.customer_id",
        "INVALID_QUERY",
        "not a dimension column",
    ),
    "subquery smuggling rows": (
        "agency",
        "SELECT s.segment, COUNT(DISTINCT s.email_sha256) FROM (SELECT * FROM adv_customers) s GROUP BY s.segment",
        "INVALID_QUERY",
        None,
    ),
    "scalar subquery in WHERE": (
        "agency",
        "SELECT COUNT(DISTINCT c.email_sha256) FROM adv_customers c "
        "WHERE c.segment = (SELECT MIN(segment) FROM adv_customers)",
        "INVALID_QUERY",
        "Subqueries are not allowed",
    ),
    "CTE": (
        "agency",
        "WITH x AS (SELECT segment, email_sha256 FROM adv_customers) SELECT COUNT(DISTINCT email_sha256) FROM x",
        "INVALID_QUERY",
        None,
    ),
    "UNION": (
        "agency",
        "SELECT COUNT(DISTINCT email_sha256) FROM adv_customers UNION SELECT COUNT(DISTINCT phone_sha256) FROM adv_customers",
        "INVALID_QUERY",
        "UNION",
    ),
    "window function under aggregation rule": (
        "agency",
        "SELECT c.segment, COUNT(DISTINCT c.email_sha256) OVER (PARTITION BY c.segment) FROM adv_customers c",
        "INVALID_QUERY",
        "window functions",
    ),
    "disallowed scalar function": (
        "agency",
        "SELECT SUBSTRING(c.segment, 1, 2) AS s, COUNT(DISTINCT c.email_sha256) FROM adv_customers c "
        "GROUP BY SUBSTRING(c.segment, 1, 2)",
        "INVALID_QUERY",
        "not an allowed scalar function",
    ),
    "scalar function one table lacks (most restrictive wins)": (
        "agency",
        "SELECT LOWER(i.campaign_id) AS c, COUNT(DISTINCT i.email_sha256) FROM pub_impressions i "
        "JOIN adv_customers a ON i.email_sha256 = a.email_sha256 GROUP BY LOWER(i.campaign_id)",
        "INVALID_QUERY",
        "scalarFunctions",
    ),
    "CASE is not a listed scalar function": (
        "agency",
        "SELECT CASE WHEN c.segment = 'new' THEN 1 ELSE 0 END AS is_new, COUNT(DISTINCT c.email_sha256) "
        "FROM adv_customers c GROUP BY 1",
        "INVALID_QUERY",
        "not an allowed scalar function",
    ),
    "OR join when only AND allowed": (
        "advertiser",
        "SELECT COUNT(DISTINCT c.email_sha256) FROM adv_customers c JOIN pub_audience p "
        "ON c.email_sha256 = p.email_sha256 OR c.phone_sha256 = p.phone_sha256",
        "INVALID_QUERY",
        "OR is not an allowed join operator",
    ),
    "LEFT JOIN": (
        "advertiser",
        "SELECT COUNT(DISTINCT c.email_sha256) FROM adv_customers c LEFT JOIN pub_audience p ON c.email_sha256 = p.email_sha256",
        "INVALID_QUERY",
        "LEFT JOIN is not allowed",
    ),
    "CROSS JOIN": (
        "advertiser",
        "SELECT COUNT(DISTINCT c.email_sha256) FROM adv_customers c CROSS JOIN pub_audience p",
        "INVALID_QUERY",
        "CROSS JOIN",
    ),
    "comma join": (
        "advertiser",
        "SELECT COUNT(DISTINCT c.email_sha256) FROM adv_customers c, pub_audience p WHERE c.region = p.region",
        "INVALID_QUERY",
        "Comma joins",
    ),
    "join on a non-join column": (
        "advertiser",
        "SELECT COUNT(DISTINCT c.email_sha256) FROM adv_customers c JOIN pub_audience p ON c.region = p.region",
        "INVALID_QUERY",
        "is not a join column",
    ),
    "filter inside JOIN ON": (
        "advertiser",
        "SELECT COUNT(DISTINCT c.email_sha256) FROM adv_customers c JOIN pub_audience p "
        "ON c.email_sha256 = p.email_sha256 AND p.interest = 'sport'",
        "INVALID_QUERY",
        "JOIN ON may only compare join columns",
    ),
    "missing required join (joinRequired QUERY_RUNNER)": (
        "agency",
        "SELECT p.interest, COUNT(DISTINCT p.email_sha256) FROM pub_audience p GROUP BY p.interest",
        "INVALID_QUERY",
        "joinRequired",
    ),
    "required join to another member's table only": (
        "agency",
        "SELECT COUNT(DISTINCT p.email_sha256) FROM pub_audience p JOIN adv_customers c ON p.email_sha256 = c.email_sha256",
        "INVALID_QUERY",
        "agency owns no configured tables",
    ),
    "LIMIT under aggregation": (
        "agency",
        "SELECT c.segment, COUNT(DISTINCT c.email_sha256) FROM adv_customers c GROUP BY c.segment LIMIT 1",
        "INVALID_QUERY",
        "LIMIT",
    ),
    "column outside allowedColumns": (
        "agency",
        "SELECT c.birthday, COUNT(DISTINCT c.email_sha256) FROM adv_customers c GROUP BY 1",
        "MALFORMED_QUERY",
        "allowedColumns",
    ),
    "mixing rule types": (
        "advertiser",
        "SELECT COUNT(DISTINCT c.email_sha256) FROM adv_customers c JOIN pub_audience_list p ON c.email_sha256 = p.email_sha256",
        "INVALID_QUERY",
        "same analysis rule type",
    ),
    # --- members ---
    "non-member": ("stranger", OVERLAP, "RESOURCE_NOT_FOUND", "not a member"),
    "member without CAN_QUERY": ("publisher", OVERLAP, "RESOURCE_ACCESS_DENIED", "CAN_QUERY"),
    "receiver-only member": ("observer", OVERLAP, "RESOURCE_ACCESS_DENIED", "CAN_QUERY"),
    # --- list ---
    "list without DISTINCT": (
        "advertiser",
        "SELECT c.customer_id, p.interest FROM adv_customers_list c JOIN pub_audience_list p ON c.email_sha256 = p.email_sha256",
        "INVALID_QUERY",
        "SELECT DISTINCT",
    ),
    "list outputs a join column": (
        "advertiser",
        "SELECT DISTINCT p.email_sha256, p.interest FROM adv_customers_list c "
        "JOIN pub_audience_list p ON c.email_sha256 = p.email_sha256",
        "INVALID_QUERY",
        "is a join column",
    ),
    "list uses a function": (
        "advertiser",
        "SELECT DISTINCT c.customer_id, UPPER(p.interest) FROM adv_customers_list c "
        "JOIN pub_audience_list p ON c.email_sha256 = p.email_sha256",
        "INVALID_QUERY",
        "columns only",
    ),
    "list aggregates": (
        "advertiser",
        "SELECT DISTINCT p.interest FROM adv_customers_list c JOIN pub_audience_list p "
        "ON c.email_sha256 = p.email_sha256 WHERE LENGTH(p.interest) > 2",
        "INVALID_QUERY",
        "can't use functions",
    ),
    "list without a join to the querier's table": (
        "advertiser",
        "SELECT DISTINCT p.interest, p.region FROM pub_audience_list p",
        "INVALID_QUERY",
        "must be joined",
    ),
    "list OR join where one table allows only AND": (
        "advertiser",
        "SELECT DISTINCT c.customer_id FROM adv_customers_list c JOIN pub_audience_list p "
        "ON c.email_sha256 = p.email_sha256 OR c.phone_sha256 = p.phone_sha256",
        "INVALID_QUERY",
        "OR is not an allowed join operator",
    ),
    "list GROUP BY": (
        "advertiser",
        "SELECT DISTINCT p.interest FROM adv_customers_list c JOIN pub_audience_list p "
        "ON c.email_sha256 = p.email_sha256 GROUP BY p.interest",
        "INVALID_QUERY",
        "GROUP",
    ),
    # --- custom ---
    "custom direct query by a member who is no provider": (
        "advertiser",
        "SELECT campaign_id, COUNT(*) AS n FROM pub_impressions_any GROUP BY campaign_id",
        "RESOURCE_ACCESS_DENIED",
        "does not allow direct queries",
    ),
    "custom table that allows only templates": (
        "agency",
        "SELECT COUNT(*) AS n FROM adv_conversions",
        "RESOURCE_ACCESS_DENIED",
        "allows only the analysis templates",
    ),
    "custom outputs a disallowed column": (
        "agency",
        "SELECT email_sha256, COUNT(*) AS n FROM pub_impressions_any GROUP BY email_sha256",
        "INVALID_QUERY",
        "pub_impressions_any.email_sha256",
    ),
    "custom smuggles a disallowed column through a CTE": (
        "agency",
        "WITH x AS (SELECT email_sha256 AS id, campaign_id FROM pub_impressions_any) SELECT UPPER(id) AS k FROM x",
        "INVALID_QUERY",
        "disallowedOutputColumns",
    ),
    "custom smuggles a disallowed column through MAX and a scalar subquery": (
        "agency",
        "SELECT campaign_id, (SELECT MAX(email_sha256) FROM pub_impressions_any) AS m FROM pub_impressions_any",
        "INVALID_QUERY",
        "disallowedOutputColumns",
    ),
    "custom smuggles a disallowed column through UNION": (
        "agency",
        "SELECT campaign_id FROM pub_impressions_any UNION ALL SELECT email_sha256 FROM pub_impressions_any",
        "INVALID_QUERY",
        "disallowedOutputColumns",
    ),
    "custom smuggles via a window function": (
        "agency",
        "SELECT FIRST_VALUE(email_sha256) OVER (PARTITION BY campaign_id ORDER BY ts) AS f FROM pub_impressions_any",
        "INVALID_QUERY",
        "disallowedOutputColumns",
    ),
    "custom SELECT * expands to a disallowed column": (
        "agency",
        "SELECT * FROM pub_impressions_any",
        "INVALID_QUERY",
        "disallowedOutputColumns",
    ),
    # --- statements ---
    "not SQL": ("agency", "SELEKT nothing", "MALFORMED_QUERY", "Only SELECT"),
    "unbalanced SQL": (
        "agency",
        "SELECT COUNT(DISTINCT email_sha256 FROM adv_customers",
        "MALFORMED_QUERY",
        "does not parse",
    ),
    "DDL": ("agency", "DROP TABLE adv_customers", "MALFORMED_QUERY", "Only SELECT"),
    "two statements": ("agency", "SELECT 1; SELECT 2", "MALFORMED_QUERY", "exactly one"),
    "unknown table": (
        "agency",
        "SELECT COUNT(DISTINCT x) FROM cr_advertiser_customers",
        "RESOURCE_NOT_FOUND",
        None,
    ),
    "placeholder outside a template": (
        "agency",
        "SELECT COUNT(DISTINCT email_sha256) FROM adv_customers WHERE segment = :seg",
        "MALFORMED_QUERY",
        "only in analysis templates",
    ),
}


@pytest.mark.parametrize(("member", "sql", "code", "fragment"), list(REFUSED.values()), ids=list(REFUSED))
def test_refused_queries_fail_with_code_and_no_data(room, tmp_path, member, sql, code, fragment):
    check = room.check(member, sql)
    assert not check.allowed
    assert check.error["code"] == code, check.error
    if fragment:
        assert fragment in check.error["message"], check.error["message"]
    record = room.start_protected_query(member, sql, "CSV", tmp_path)
    assert record["status"] == "FAILED"
    assert record["error"] == check.error
    assert "result" not in record
    assert not list(tmp_path.rglob("result.*"))
