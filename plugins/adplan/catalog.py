"""Names shared by the DAGs and the engines (no Airflow, no I/O: safe to import anywhere)."""

# Landing sources, in the order the nightly DAG takes them (one contract each in include/contracts/).
LANDING_SOURCES = (
    "advertisers",
    "campaigns",
    "media_plan",
    "creatives",
    "crm_customers",
    "orders",
    "publisher_audience",
    "ad_impressions",
    "ad_clicks",
    "identity_events",
    "spend",
)
