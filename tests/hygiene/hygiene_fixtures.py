"""Test data for the hygiene engine: small contracts and CSV rows written by hand (no generator needed)."""

from __future__ import annotations

import duckdb

from adplan.lake import Lake

DT = "2024-05-01"
CRM_CONTRACT = """\
source: crm_customers
description: Advertiser CRM customer extract (test copy).
owner: advertiser
file:
  format: csv
  compression: gzip
  delimiter: ","
  header: true
  encoding: utf-8
max_rejected_share: 0.9
primary_key: [customer_id]
columns:
  - {name: customer_id, type: string, required: true, pattern: '^C[0-9]{8}$'}
  - {name: first_name, type: string, pii: true, identity: first_name}
  - {name: last_name, type: string, pii: true, identity: last_name}
  - {name: email, type: string, pii: true, identity: email}
  - {name: phone, type: string, pii: true, identity: phone}
  - {name: address_line1, type: string, pii: true, identity: address}
  - {name: address_line2, type: string, pii: true, identity: address}
  - {name: city, type: string, pii: true, identity: city}
  - {name: state, type: string, identity: state}
  - {name: postal_code, type: string, pii: true, identity: postal_code}
  - {name: country, type: string, identity: country}
  - {name: date_of_birth, type: string, pii: true, identity: date_of_birth}
  - {name: signup_date, type: date, required: true}
  - {name: consent_email, type: boolean}
  - {name: consent_ads, type: boolean}
"""
CRM_HEADER = (
    "customer_id,first_name,last_name,email,phone,address_line1,address_line2,city,state,postal_code,"
    "country,date_of_birth,signup_date,consent_email,consent_ads"
)

ORDERS_CONTRACT = """\
source: orders
file: {compression: none}
max_rejected_share: 0.9
primary_key: [order_id]
columns:
  - {name: order_id, type: integer, required: true, min: 1}
  - {name: customer_id, type: string}
  - {name: email, type: string, pii: true, identity: email}
  - {name: order_ts, type: timestamp, required: true}
  - {name: order_value, type: decimal, min: 0, max: 100000}
  - {name: currency, type: string, allowed: [USD, EUR]}
  - {name: sales_channel, type: string, allowed: [web, store, app], max_length: 5}
"""
ORDERS_HEADER = "order_id,customer_id,email,order_ts,order_value,currency,sales_channel"


def crm_row(customer_id: str = "C00000001", **fields: str) -> str:
    """A valid CRM CSV line; keyword arguments replace single fields (values written as given)."""
    row = {
        "customer_id": customer_id,
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann.lee@example.com",
        "phone": "(212) 555-0134",
        "address_line1": "1 Oak Road",
        "address_line2": "",
        "city": "Austin",
        "state": "TX",
        "postal_code": "73301",
        "country": "US",
        "date_of_birth": "1985-03-07",
        "signup_date": "2024-01-02",
        "consent_email": "true",
        "consent_ads": "false",
    }
    row.update(fields)
    return ",".join(row.values())


def read_table(lake: Lake, zone: str, table: str, dt: str = DT, order: str = "") -> list[dict]:
    path = lake.partition_file(zone, table, dt)
    relation = duckdb.sql(f"SELECT * FROM read_parquet('{path}', hive_partitioning = false) {order}")
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
