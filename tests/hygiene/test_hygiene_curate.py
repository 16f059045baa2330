"""Curation: normalized identity columns and hashes, equal to the pure rules value by value."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hygiene_fixtures import CRM_HEADER, DT, crm_row, read_table

from adplan.hygiene import (
    Contract,
    HygieneConfig,
    MissingInputError,
    curate_source,
    curated_columns,
    ingest_source,
)
from adplan.hygiene import normalize as n
from adplan.hygiene.batch import Output, build_lookup
from adplan.lake import Lake

CRM_CURATED = [
    "customer_id",
    "first_name",
    "last_name",
    "email",
    "email_valid",
    "email_sha256",
    "phone",
    "phone_sha256",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
    "date_of_birth",
    "signup_date",
    "consent_email",
    "consent_ads",
    "source_file",
    "source_row",
]

# Tricky values per column; row i of the test file takes value i % len(values) of each list.
TRICKY = {
    "first_name": ["  José ", "MARY-JANE", "O'Neil", "Åsa", "Strauß", "李", "", "123", "Zoë"],
    "last_name": ["Müller", "de la Cruz", "  SMITH", "Ng", "", "D'Angelo", "ﬁsher"],
    "email": [
        " J.Doe+news@GoogleMail.com ",
        "jane.doe+shop@outlook.com",
        "a+b@example.com",
        "John <JOHN@EXAMPLE.COM>",
        "bad-email",
        "",
        "x@gmail.con",
        "josé@exámple.com",
        "two@@example.com",
    ],
    "phone": [
        "(212) 555-0134",
        "+1 206 345 7890",
        "212.555.0134 x9",
        "+44 20 7946 0958",
        "555-0134",
        "",
        "1-800-FLOWERS",
        "abc",
        "12125550134",
    ],
    "address_line1": [
        "123 North Main Street, Apt #4",
        "9 Elm Ave.",
        "1 Straße",
        "",
        "500 SW Pkwy Ste 200",
        "#",
    ],
    "address_line2": ["Apt 4", "", "Suite 200", "Unit B"],
    "city": ["New York", "St. Louis", "São Paulo", ""],
    "state": ["New York", "tx", "Québec", "West Virginia", ""],
    "postal_code": ["10001-1234", "02110", "SW1A 1AA", ""],
    "country": ["USA", "United States", "us", "Deutschland", ""],
    "date_of_birth": [
        "1985-03-07",
        "03/07/1985",
        "7 March 1985",
        "Mar 7, 1985",
        "07.03.1985",
        "19850307",
        "1985-02-30",
        "",
        "01/02/30",
    ],
}


def _tricky_crm_file(rows: int = 60) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CRM_HEADER.split(","))
    for index in range(rows):
        row = next(csv.reader([crm_row(f"C{index + 1:08d}")]))
        fields = dict(zip(CRM_HEADER.split(","), row, strict=True))
        for column, values in TRICKY.items():
            fields[column] = values[index % len(values)]
        writer.writerow(fields.values())
    return buffer.getvalue()


@pytest.fixture
def curated(lake: Lake, crm_contract: Contract, land: Callable[..., Path], config: HygieneConfig) -> dict:
    land("crm_customers", "crm_customers-00000.csv.gz", _tricky_crm_file())
    ingest_source(lake, crm_contract, DT, config=config)
    return curate_source(lake, crm_contract, DT, config=config)


def test_curated_crm_columns(crm_contract: Contract, curated: dict, lake: Lake) -> None:
    assert curated_columns(crm_contract) == CRM_CURATED
    rows = read_table(lake, "curated", "curated_crm_customers")
    assert list(rows[0]) == CRM_CURATED
    types = dict(
        duckdb.sql(
            f"DESCRIBE SELECT * FROM '{lake.partition_file('curated', 'curated_crm_customers', DT)}'"
        ).fetchall()[i][:2]
        for i in range(len(CRM_CURATED))
    )
    assert types["date_of_birth"] == "DATE"
    assert types["email_valid"] == "BOOLEAN"
    assert types["signup_date"] == "DATE"


def test_vectorized_path_equals_the_pure_rules(lake: Lake, curated: dict) -> None:
    """Each curated value is the pure function of its raw value (distinct lookup + join change nothing)."""
    raw = {row["customer_id"]: row for row in read_table(lake, "raw", "raw_crm_customers")}
    rows = read_table(lake, "curated", "curated_crm_customers")
    assert len(rows) == len(raw) == 60
    as_of = date.fromisoformat(DT)
    for row in rows:
        source = raw[row["customer_id"]]
        email, valid = n.normalize_email(source["email"])
        phone = n.normalize_phone(source["phone"], "US")
        assert row["first_name"] == n.normalize_name(source["first_name"])
        assert row["last_name"] == n.normalize_name(source["last_name"])
        assert (row["email"], row["email_valid"]) == ((email, valid) if email else (None, None))
        assert row["email_sha256"] == (hashlib.sha256(email.encode()).hexdigest() if valid else None)
        assert row["phone"] == phone
        assert row["phone_sha256"] == n.sha256_hex(phone)
        assert row["address_line1"] == n.normalize_address(source["address_line1"])
        assert row["address_line2"] == n.normalize_address(source["address_line2"])
        assert row["city"] == n.normalize_city(source["city"])
        assert row["state"] == n.normalize_state(source["state"])
        assert row["postal_code"] == n.normalize_postal_code(source["postal_code"])
        assert row["country"] == n.normalize_country(source["country"])
        assert row["date_of_birth"] == n.parse_date_of_birth(source["date_of_birth"], as_of)
        assert (row["signup_date"], row["consent_email"], row["source_row"]) == (
            source["signup_date"],
            source["consent_email"],
            source["source_row"],
        )


def test_examples_in_the_curated_table(lake: Lake, curated: dict) -> None:
    first = read_table(lake, "curated", "curated_crm_customers")[0]
    assert (first["first_name"], first["email"], first["phone"]) == ("jose", "jdoe@gmail.com", "+12125550134")
    assert first["address_line1"] == "123nmainstaptnumber4"
    assert (first["city"], first["state"], first["postal_code"], first["country"]) == (
        "newyork",
        "ny",
        "10001",
        "us",
    )
    assert first["date_of_birth"] == date(1985, 3, 7)


def test_counts_hold_no_values(curated: dict) -> None:
    assert curated["rows"] == 60
    assert curated["email_invalid"] > 0
    assert curated["email_normalized"] + curated["email_missing"] == 60
    assert all(isinstance(value, (int, str)) for value in curated.values())
    assert "jdoe@gmail.com" not in repr(curated)


def test_rerun_gives_an_identical_curated_table(
    lake: Lake, crm_contract: Contract, curated: dict, config: HygieneConfig
) -> None:
    path = lake.partition_file("curated", "curated_crm_customers", DT)
    before = path.read_bytes()
    curate_source(lake, crm_contract, DT, config=config)
    assert path.read_bytes() == before


def test_curate_needs_the_raw_partition(lake: Lake, crm_contract: Contract, config: HygieneConfig) -> None:
    with pytest.raises(
        MissingInputError, match="no raw_crm_customers partition for dt=2024-05-01; run ingest first"
    ):
        curate_source(lake, crm_contract, DT, config=config)


def test_hashed_sources(
    write_contract: Callable[[str], Contract], land: Callable[..., Path], lake: Lake, config: HygieneConfig
) -> None:
    contract = write_contract(
        """\
source: publisher_audience
file: {compression: none}
primary_key: [audience_record_id]
columns:
  - {name: audience_record_id, type: string, required: true}
  - {name: email_sha256, type: string, identity: email_sha256, pattern: '^[0-9a-fA-F]{64}$'}
  - {name: maid, type: string, pii: true, identity: maid}
  - {name: interests, type: string}
"""
    )
    digest = hashlib.sha256(b"jdoe@gmail.com").hexdigest()
    land(
        "publisher_audience",
        "publisher_audience-00000.csv",
        f"audience_record_id,email_sha256,maid,interests\nA1,{digest.upper()},6D92078A-8246-4BA4-AE5B-76104861E7DC,news;sports\nA2,,,\n",
    )
    ingest_source(lake, contract, DT, config=config)
    curate_source(lake, contract, DT, config=config)
    rows = read_table(lake, "curated", "curated_publisher_audience")
    assert list(rows[0]) == [
        "audience_record_id",
        "email_sha256",
        "maid",
        "maid_sha256",
        "interests",
        "source_file",
        "source_row",
    ]
    assert rows[0]["email_sha256"] == digest
    assert rows[0]["maid_sha256"] == n.sha256_hex("6d92078a-8246-4ba4-ae5b-76104861e7dc")
    assert (rows[1]["email_sha256"], rows[1]["maid"], rows[1]["maid_sha256"]) == (None, None, None)


def test_build_lookup_keeps_values_and_types() -> None:
    table = build_lookup(
        ["a@x.com", "bad"], n.normalize_email, [Output("value", pa.string()), Output("valid", pa.bool_())]
    )
    assert table.column_names == ["raw_value", "value", "valid"]
    assert table.to_pylist() == [
        {"raw_value": "a@x.com", "value": "a@x.com", "valid": True},
        {"raw_value": "bad", "value": "bad", "valid": False},
    ]
