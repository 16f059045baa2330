"""Ingest: contract violations of every kind end in quarantine, counts reconcile, reruns are identical,
malformed files fail cleanly naming the file, and a run over the threshold writes nothing."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hygiene_fixtures import CRM_HEADER, DT, ORDERS_HEADER, crm_row, read_table

from adplan.hygiene import (
    Contract,
    HygieneConfig,
    HygieneError,
    MalformedFileError,
    MissingInputError,
    RejectedShareExceeded,
    ingest_source,
)
from adplan.hygiene.ingest import QUARANTINE_COLUMNS
from adplan.lake import Lake

CRM_FILE = "crm_customers-00000.csv.gz"
HUGE = "x" * 1_000_000


def _crm_file_with_every_violation() -> bytes:
    lines = [
        CRM_HEADER,  # 1
        crm_row("C00000001"),  # 2 accepted
        crm_row(""),  # 3 missing required id
        crm_row("X1"),  # 4 pattern
        crm_row("C00000004", signup_date="2024-02-30"),  # 5 invalid date
        crm_row("C00000005", signup_date=""),  # 6 missing required date
        crm_row("C00000006", consent_email="maybe"),  # 7 invalid boolean
        crm_row("C00000001", first_name="Dup"),  # 8 duplicate key of row 2
        "C00000008,too,few",  # 9 missing columns
        crm_row("C00000009") + ",extra",  # 10 too many columns
        crm_row("C00000010", first_name="\udcff\udcfeAnn"),  # 11 invalid UTF-8
        crm_row("C00000011", first_name=HUGE),  # 12 a 1 MB field
        crm_row(
            "C00000012", address_line2='"Apt 4\nBack door"'
        ),  # 13 accepted (a quoted newline: lines 13-14)
        crm_row("C00000013"),  # 14 accepted (line 15)
        crm_row("C00000014", last_name='"Lee'),  # 15 unterminated quote, runs to the end of the file
    ]
    return ("\n".join(lines) + "\n").encode("utf-8", errors="surrogateescape")


@pytest.fixture
def crm_landed(land: Callable[..., Path]) -> Path:
    return land("crm_customers", CRM_FILE, _crm_file_with_every_violation())


def test_every_violation_ends_in_quarantine_with_its_reason(
    lake: Lake, crm_contract: Contract, crm_landed: Path, config: HygieneConfig
) -> None:
    reconciliation = ingest_source(lake, crm_contract, DT, config=config)

    quarantine = read_table(lake, "quarantine", "quarantine_crm_customers")
    assert [(row["row_number"], row["field"], row["reason"]) for row in quarantine] == [
        (3, "customer_id", "missing_required"),
        (4, "customer_id", "pattern_mismatch"),
        (5, "signup_date", "invalid_date"),
        (6, "signup_date", "missing_required"),
        (7, "consent_email", "invalid_boolean"),
        (8, "customer_id", "duplicate_primary_key"),
        (9, "email", "missing_columns"),
        (10, None, "too_many_columns"),
        (11, "first_name", "invalid_encoding"),
        (12, "first_name", "too_long"),
        (15, "last_name", "malformed_quotes"),
    ]
    assert {row["source"] for row in quarantine} == {"crm_customers"}
    assert {row["source_file"] for row in quarantine} == {f"landing/crm_customers/dt={DT}/{CRM_FILE}"}
    assert quarantine[0]["raw_line"] == crm_row("")
    assert "row 2" in quarantine[5]["detail"]  # the duplicate names the row it repeats
    assert all(row["detail"] for row in quarantine)
    assert tuple(quarantine[0]) == QUARANTINE_COLUMNS

    raw = read_table(lake, "raw", "raw_crm_customers")
    assert [(row["customer_id"], row["source_row"]) for row in raw] == [
        ("C00000001", 2),
        ("C00000012", 13),
        ("C00000013", 14),
    ]
    assert raw[1]["address_line2"] == "Apt 4\nBack door"

    assert reconciliation.rows_in == 14
    assert reconciliation.accepted == 3
    assert reconciliation.quarantined == 11
    assert reconciliation.rows_in == reconciliation.accepted + reconciliation.quarantined
    assert reconciliation.reasons["missing_required"] == 2
    assert reconciliation.passed


def test_types_bounds_and_enumerations(
    lake: Lake, orders_contract: Contract, land: Callable[..., Path], config: HygieneConfig
) -> None:
    land(
        "orders",
        "orders-00000.csv",
        "\n".join(
            [
                ORDERS_HEADER,
                "1,C00000001,a@x.com,2024-05-01T10:00:00Z,19.99,USD,web",  # 2 accepted
                "2,,b@x.com,2024-05-01T10:00:00+02:00, 0 ,EUR,app",  # 3 accepted (guest, offset, spaces)
                "3,,c@x.com,2024-05-01 09:30:00,5,USD,store",  # 4 accepted (no zone: UTC)
                "4a,,d@x.com,2024-05-01T10:00:00Z,1,USD,web",  # 5 invalid integer
                "0,,e@x.com,2024-05-01T10:00:00Z,1,USD,web",  # 6 below min
                "7,,f@x.com,2024-05-01T10:00:00Z,100001,USD,web",  # 7 above max
                "8,,g@x.com,2024-05-01T10:00:00Z,1e5,USD,web",  # 8 invalid decimal
                "9,,h@x.com,May 1 2024,1,USD,web",  # 9 invalid timestamp
                "10,,i@x.com,2024-05-01T10:00:00Z,1,GBP,web",  # 10 not allowed
                "11,,j@x.com,2024-05-01T10:00:00Z,1,USD,website",  # 11 too long (max_length 5)
                "12,,k@x.com,2024-05-01T10:00:00Z,1,USD,kiosk",  # 12 not allowed
                "1,,l@x.com,2024-05-02T10:00:00Z,1,USD,web",  # 13 duplicate key
            ]
        )
        + "\n",
    )
    reconciliation = ingest_source(lake, orders_contract, DT, config=config)

    quarantine = read_table(lake, "quarantine", "quarantine_orders")
    assert [(row["row_number"], row["field"], row["reason"]) for row in quarantine] == [
        (5, "order_id", "invalid_integer"),
        (6, "order_id", "below_min"),
        (7, "order_value", "above_max"),
        (8, "order_value", "invalid_decimal"),
        (9, "order_ts", "invalid_timestamp"),
        (10, "currency", "not_allowed"),
        (11, "sales_channel", "too_long"),
        (12, "sales_channel", "not_allowed"),
        (13, "order_id", "duplicate_primary_key"),
    ]
    raw = read_table(lake, "raw", "raw_orders")
    assert [row["order_id"] for row in raw] == [1, 2, 3]
    assert [row["order_ts"] for row in raw] == [
        datetime(2024, 5, 1, 10, 0),
        datetime(2024, 5, 1, 8, 0),
        datetime(2024, 5, 1, 9, 30),
    ]
    assert raw[0]["order_value"] == Decimal("19.990000")
    assert raw[1]["customer_id"] is None
    assert (reconciliation.rows_in, reconciliation.accepted, reconciliation.quarantined) == (12, 3, 9)


def test_reconciliation_is_recorded(
    lake: Lake, crm_contract: Contract, crm_landed: Path, config: HygieneConfig
) -> None:
    reconciliation = ingest_source(lake, crm_contract, DT, config=config)
    (row,) = read_table(lake, "quarantine", "hygiene_reconciliation_crm_customers")
    assert row["source"] == "crm_customers"
    assert (row["files"], row["rows_in"], row["accepted"], row["quarantined"]) == (1, 14, 3, 11)
    assert row["rows_in"] == row["accepted"] + row["quarantined"]
    assert row["threshold"] == reconciliation.threshold == 0.9  # the contract's, over the default
    assert row["passed"] is True
    assert '"missing_required": 2' in row["reasons"]
    assert reconciliation.to_dict()["file_counts"][0]["rows_in"] == 14


def test_rerun_gives_identical_tables(
    lake: Lake, crm_contract: Contract, crm_landed: Path, config: HygieneConfig
) -> None:
    tables = [
        ("raw", "raw_crm_customers"),
        ("quarantine", "quarantine_crm_customers"),
        ("quarantine", "hygiene_reconciliation_crm_customers"),
    ]
    ingest_source(lake, crm_contract, DT, config=config)
    first = [lake.partition_file(zone, table, DT).read_bytes() for zone, table in tables]
    ingest_source(lake, crm_contract, DT, config=config)
    second = [lake.partition_file(zone, table, DT).read_bytes() for zone, table in tables]
    assert first == second
    assert [len(lake.partitions(zone, table)) for zone, table in tables] == [1, 1, 1]


def test_over_the_threshold_nothing_is_written(
    lake: Lake, crm_contract: Contract, land: Callable[..., Path], config: HygieneConfig
) -> None:
    good = CRM_HEADER + "\n" + "\n".join(crm_row(f"C{i:08d}") for i in range(1, 11)) + "\n"
    path = land("crm_customers", CRM_FILE, good)
    ingest_source(lake, crm_contract, DT, config=config)
    before = {file: file.read_bytes() for file in lake.root.rglob("*.parquet")}

    bad = [crm_row(f"C{i:08d}", signup_date="soon") for i in range(1, 7)] + [
        crm_row(f"C{i:08d}") for i in range(7, 11)
    ]
    path.write_bytes(gzip.compress((CRM_HEADER + "\n" + "\n".join(bad) + "\n").encode()))
    strict = HygieneConfig(min_rows_for_share=1, thresholds={"crm_customers": 0.5})
    with pytest.raises(RejectedShareExceeded) as raised:
        ingest_source(lake, crm_contract, DT, config=strict)

    message = str(raised.value)
    for part in (
        "crm_customers",
        f"dt={DT}",
        "6 of 10",
        "60.00%",
        "threshold of 50.00%",
        "invalid_date 6",
        CRM_FILE,
    ):
        assert part in message
    assert "Nothing was written" in message
    assert "ann.lee@example.com" not in message
    assert raised.value.reconciliation.passed is False
    assert raised.value.reconciliation.quarantined == 6
    assert {file: file.read_bytes() for file in lake.root.rglob("*.parquet")} == before


def test_a_file_over_the_threshold_fails_the_source(
    lake: Lake, crm_contract: Contract, land: Callable[..., Path], config: HygieneConfig
) -> None:
    land(
        "crm_customers",
        "part-0.csv.gz",
        CRM_HEADER + "\n" + "\n".join(crm_row(f"C{i:08d}") for i in range(1, 101)) + "\n",
    )
    land(
        "crm_customers",
        "part-1.csv.gz",
        CRM_HEADER
        + "\n"
        + "\n".join(crm_row(f"X{i}") for i in range(6))
        + "\n"
        + crm_row("C99999999")
        + "\n",
    )
    strict = HygieneConfig(min_rows_for_share=1, thresholds={"crm_customers": 0.1})
    with pytest.raises(RejectedShareExceeded, match=r"files over the threshold: .*part-1.csv.gz \(6 of 7"):
        ingest_source(lake, crm_contract, DT, config=strict)
    assert not lake.root.joinpath("raw").exists()


def test_small_deliveries_are_judged_on_min_rows(
    lake: Lake, crm_contract: Contract, land: Callable[..., Path]
) -> None:
    config = HygieneConfig(min_rows_for_share=100, thresholds={"crm_customers": 0.05})
    path = land(
        "crm_customers", CRM_FILE, CRM_HEADER + "\n" + crm_row("X1") + "\n" + crm_row("C00000002") + "\n"
    )
    assert ingest_source(lake, crm_contract, DT, config=config).quarantined == 1  # 1 of 2, judged as 1 of 100
    path.write_bytes(
        gzip.compress((CRM_HEADER + "\n" + crm_row("X1") + "\n" + crm_row("X2") + "\n").encode())
    )
    with pytest.raises(RejectedShareExceeded):  # every row rejected
        ingest_source(lake, crm_contract, DT, config=config)


def test_several_files_are_numbered_each_from_its_own_header(
    lake: Lake, crm_contract: Contract, land: Callable[..., Path], config: HygieneConfig
) -> None:
    land("crm_customers", "b.csv.gz", CRM_HEADER + "\n" + crm_row("C00000003") + "\n" + crm_row("X") + "\n")
    land(
        "crm_customers",
        "a.csv.gz",
        CRM_HEADER + "\n" + crm_row("C00000001") + "\n" + crm_row("C00000002") + "\n",
    )
    land("crm_customers", ".partial.csv.gz", b"ignored: hidden files are not deliveries")
    reconciliation = ingest_source(lake, crm_contract, DT, config=config)
    raw = read_table(lake, "raw", "raw_crm_customers")
    assert [(row["source_file"].rsplit("/", 1)[1], row["source_row"]) for row in raw] == [
        ("a.csv.gz", 2),
        ("a.csv.gz", 3),
        ("b.csv.gz", 2),
    ]
    (quarantined,) = read_table(lake, "quarantine", "quarantine_crm_customers")
    assert (quarantined["source_file"].rsplit("/", 1)[1], quarantined["row_number"]) == ("b.csv.gz", 3)
    assert reconciliation.files == 2


def test_a_line_over_the_parser_limit_is_quarantined(
    lake: Lake, crm_contract: Contract, land: Callable[..., Path], config: HygieneConfig
) -> None:
    land(
        "crm_customers",
        CRM_FILE,
        "\n".join([CRM_HEADER, crm_row("C00000001", first_name="y" * 3_000_000), crm_row("C00000002")])
        + "\n",
    )
    reconciliation = ingest_source(lake, crm_contract, DT, config=config)
    (row,) = read_table(lake, "quarantine", "quarantine_crm_customers")
    assert (row["row_number"], row["reason"]) == (2, "line_too_long")
    assert reconciliation.accepted == 1


def test_header_only_file_is_an_empty_delivery(
    lake: Lake, crm_contract: Contract, land: Callable[..., Path], config: HygieneConfig
) -> None:
    land("crm_customers", CRM_FILE, CRM_HEADER + "\n")
    reconciliation = ingest_source(lake, crm_contract, DT, config=config)
    assert (reconciliation.rows_in, reconciliation.accepted, reconciliation.quarantined) == (0, 0, 0)
    assert reconciliation.passed
    columns = duckdb.sql(
        f"DESCRIBE SELECT * FROM '{lake.partition_file('raw', 'raw_crm_customers', DT)}'"
    ).fetchall()
    assert [column[0] for column in columns][:2] == ["customer_id", "first_name"]
    assert dict((column[0], column[1]) for column in columns)["signup_date"] == "DATE"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (CRM_HEADER.replace(",", ";") + "\n" + crm_row().replace(",", ";") + "\n", "looks ';'-delimited"),
        (
            CRM_HEADER.replace("email", "e_mail") + "\n" + crm_row() + "\n",
            "header is ['customer_id', 'first_name', 'last_name', 'e_mail'",
        ),
        (crm_row() + "\n" + crm_row("C00000002") + "\n", "the first row is not the header"),
        (os.urandom(4096), "cannot be read"),
    ],
    ids=["empty", "wrong-delimiter", "renamed-column", "no-header", "binary"],
)
def test_malformed_files_fail_cleanly_naming_the_file(
    lake: Lake,
    crm_contract: Contract,
    land: Callable[..., Path],
    config: HygieneConfig,
    content: str | bytes,
    message: str,
) -> None:
    land("crm_customers", "good.csv.gz", CRM_HEADER + "\n" + crm_row() + "\n")
    land("crm_customers", CRM_FILE, content)
    with pytest.raises(MalformedFileError) as raised:
        ingest_source(lake, crm_contract, DT, config=config)
    text = str(raised.value)
    assert text.startswith(f"landing/crm_customers/dt={DT}/{CRM_FILE}: ")
    assert message in text
    assert "ann.lee" not in text
    assert "Ann" not in text
    assert not lake.root.joinpath("raw").exists()


@pytest.mark.parametrize(
    "body",
    [bytes(range(256)) * 20, b"\x00\x01binary\xff" * 50],
    ids=["parser-breaking", "one-broken-record"],
)
def test_binary_after_a_good_header_fails_naming_the_file(
    lake: Lake, crm_contract: Contract, land: Callable[..., Path], config: HygieneConfig, body: bytes
) -> None:
    # Either the parser gives up on the file, or it quarantines the record and the file, all of it
    # rejected, fails the threshold: both name the file, neither writes anything.
    land("crm_customers", CRM_FILE, CRM_HEADER.encode() + b"\n" + body)
    with pytest.raises(HygieneError, match=CRM_FILE):
        ingest_source(lake, crm_contract, DT, config=config)
    assert not lake.root.joinpath("raw").exists()


def test_a_file_that_is_not_gzip(
    lake: Lake, crm_contract: Contract, land: Callable[..., Path], config: HygieneConfig
) -> None:
    land("crm_customers", "plain.csv", CRM_HEADER + "\n")
    (lake.landing_dir("crm_customers", DT) / "plain.csv").rename(
        lake.landing_dir("crm_customers", DT) / CRM_FILE
    )
    with pytest.raises(MalformedFileError, match=f"{CRM_FILE}: cannot be read as a gzip utf-8 CSV"):
        ingest_source(lake, crm_contract, DT, config=config)


def test_no_landing_files(lake: Lake, crm_contract: Contract, config: HygieneConfig) -> None:
    with pytest.raises(MissingInputError, match=f"no landing files for crm_customers dt={DT}"):
        ingest_source(lake, crm_contract, DT, config=config)


def test_errors_are_hygiene_errors() -> None:
    for error in (MalformedFileError, MissingInputError, RejectedShareExceeded):
        assert issubclass(error, HygieneError)


def test_a_callers_connection_is_left_clean(
    lake: Lake, crm_contract: Contract, crm_landed: Path, config: HygieneConfig
) -> None:
    con = duckdb.connect()
    before = con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()
    ingest_source(lake, crm_contract, DT, con=con, config=config)
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchall() == before
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchall() == [(0,)]
