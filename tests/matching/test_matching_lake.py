"""The identity-resolution job on a small lake: curated inputs in, output and identity graph out."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from adplan import sqlfiles
from adplan.lake import Lake
from adplan.matching.api import resolve_identities
from adplan.matching.synthetic import sha256_hex

DT = "2026-01-05"
ANN, BOB = sha256_hex("ann@x.com"), sha256_hex("bob@y.com")


def curated(lake: Lake, table: str, rows: dict[str, list]) -> None:
    lake.write_partition("curated", table, DT, pa.table(rows))


def small_lake(root: Path) -> Lake:
    lake = Lake(root)
    curated(
        lake,
        "curated_crm_customers",
        {
            "customer_id": ["c1", "c2"],
            "first_name": ["ann", "bob"],
            "last_name": ["lee", "ray"],
            "email": ["ann@x.com", "bob@y.com"],
            "email_sha256": [ANN, BOB],
            "phone": ["+12125550101", None],
            "phone_sha256": [sha256_hex("+12125550101"), None],
            "address_line1": ["1 main st", "2 oak ave"],
            "city": ["nyc", "sf"],
            "state": ["ny", "ca"],
            "postal_code": ["10001", "94016"],
            "country": ["us", "us"],
            "date_of_birth": pa.array([None, None], pa.date32()),
        },
    )
    curated(
        lake,
        "curated_orders",
        {
            "order_id": ["o1", "o2"],
            "customer_id": ["c1", None],
            "email": ["ann@x.com", None],
            "email_sha256": [ANN, None],
            "phone": [None, "+14155550199"],
            "phone_sha256": [None, sha256_hex("+14155550199")],
        },
    )
    curated(
        lake,
        "curated_publisher_audience",
        {
            "audience_record_id": ["a1"],
            "email_sha256": [BOB],
            "phone_sha256": [None],
            "maid": [None],
        },
    )
    # Identity events: device d1 signed in as ann three times and once as bob; cookie k1 as bob.
    events = duckdb.connect()
    events.register(
        "curated_identity_events",
        pa.table(
            {
                "event_id": ["e1", "e2", "e3", "e4", "e5"],
                "device_id": ["d1", "d1", "d1", "d1", None],
                "cookie_id": [None, None, None, None, "k1"],
                "email_sha256": [ANN, ANN, ANN, BOB, BOB],
                "dt": [DT] * 5,
            }
        ),
    )
    for id_column, table in (("device_id", "curated_ad_devices"), ("cookie_id", "curated_ad_cookies")):
        query = sqlfiles.render_duckdb("identity/ad_identifiers.sql", DT, {"id_column": id_column})
        lake.write_partition("curated", table, DT, query, events)
    return lake


def test_ad_identifiers_keep_the_two_most_linked_emails(tmp_path: Path):
    lake = small_lake(tmp_path / "lake")
    devices = lake.partition_file("curated", "curated_ad_devices", DT)
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{devices}', hive_partitioning = false)").fetchall()
    assert rows == [("d1", ANN, BOB, 2, 4)]


def test_resolve_identities_writes_the_output_and_the_identity_graph(tmp_path: Path):
    lake = small_lake(tmp_path / "lake")
    summary = resolve_identities(DT, lake_root=str(lake.root))
    graph_file = lake.partition_file("curated", "identity_graph", DT)
    graph = duckdb.sql(f"SELECT * FROM read_parquet('{graph_file}', hive_partitioning = false)")
    assert graph.columns == ["source", "record_id", "person_id", "match_rule", "confidence"]
    person = {(source, record): person for source, record, person, _, _ in graph.fetchall()}
    assert len(person) == 7
    # Ann: CRM, her order and the device she signs in on; Bob: CRM, publisher and cookie by email hash.
    assert person[("crm_customers", "c1")] == person[("orders", "o1")] == person[("ad_devices", "d1")]
    assert (
        person[("crm_customers", "c2")]
        == person[("publisher_audience", "a1")]
        == person[("ad_cookies", "k1")]
    )
    # MANY_TO_MANY on the device's two emails: bob signed in on ann's device once, so the shared
    # device joins them (drop email_sha256_alt from the ad_devices mapping to keep devices to one email).
    assert person[("crm_customers", "c1")] == person[("crm_customers", "c2")]
    assert person[("orders", "o2")] != person[("crm_customers", "c1")]  # a guest with an unknown phone
    assert summary["identity_graph"]["records"] == 7
    assert summary["quality"]["per_source"]["ad_devices"]["matched"] == 1
    output = lake.partition_file("curated", "entity_resolution_output", DT)
    columns = duckdb.sql(f"SELECT * FROM read_parquet('{output}', hive_partitioning = false)").columns
    assert columns[:2] == ["InputSourceARN", "record_id"] and columns[-2:] == ["MatchID", "MatchRule"]
