"""Benchmark: validation + normalization of 1M CRM records (ingest_source then curate_source).

    .venv/bin/python bench/bench_hygiene.py                 # 1,000,000 rows
    .venv/bin/python bench/bench_hygiene.py --rows 200000 --parts 2

Makes its own CRM landing files (gzip CSV in the world spec's layout: mixed-format dates of birth,
phone formats, email variants, duplicates with typos, ~0.5% malformed rows of every kind) in a
temporary lake, then prints rows per second for each step and in total. The target is 1M rows in
under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from adplan.hygiene import curate_source, ingest_source, load_contract
from adplan.hygiene.config import HygieneConfig
from adplan.lake import Lake

DT = "2024-06-01"
FIRST_NAMES = np.array(
    [
        "James",
        "Mary",
        "Robert",
        "Patricia",
        "John",
        "Jennifer",
        "Michael",
        "Linda",
        "David",
        "Elizabeth",
        "William",
        "Barbara",
        "Richard",
        "Susan",
        "Joseph",
        "Jessica",
        "Thomas",
        "Sarah",
        "Charles",
        "Karen",
        "José",
        "María",
        "Zoë",
        "Renée",
        "François",
        "Åsa",
        "Jürgen",
        "Mary-Jane",
        "Seán",
        "Chloé",
        "Noah",
        "Olivia",
        "Liam",
        "Emma",
        "Mateo",
        "Sofía",
        "Lucas",
        "Amélie",
        "Ethan",
        "Ava",
        "Mason",
        "Mia",
        "Logan",
        "Isabella",
    ]
)
LAST_NAMES = np.array(
    [
        "Smith",
        "Johnson",
        "Williams",
        "Brown",
        "Jones",
        "Garcia",
        "Miller",
        "Davis",
        "Rodriguez",
        "Martinez",
        "Hernandez",
        "Lopez",
        "Gonzalez",
        "Wilson",
        "Anderson",
        "Thomas",
        "Taylor",
        "Moore",
        "Jackson",
        "Martin",
        "Lee",
        "Pérez",
        "Thompson",
        "White",
        "Harris",
        "Sánchez",
        "Clark",
        "Ramírez",
        "Lewis",
        "Robinson",
        "Walker",
        "Young",
        "Allen",
        "King",
        "Wright",
        "Scott",
        "Torres",
        "Nguyen",
        "Hill",
        "Flores",
        "O'Brien",
        "Müller",
        "Størmer",
        "D'Angelo",
        "McDonald",
    ]
)
STREETS = np.array(
    [
        "Main",
        "Oak",
        "Pine",
        "Maple",
        "Cedar",
        "Elm",
        "Washington",
        "Lake",
        "Hill",
        "Park",
        "Sunset",
        "Lincoln",
        "Jackson",
        "River",
    ]
)
SUFFIXES = np.array(
    ["Street", "St", "St.", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Blvd", "Drive", "Lane"]
)
DIRECTIONS = np.array(["", "", "", "North ", "N ", "South ", "W. ", "East "])
UNITS = np.array(["", "", "", "", "Apt 4", "Apt #12", "#7", "Suite 200", "Unit B", "Apartment 3C"])
CITIES = np.array(
    [
        ("New York", "NY", "100"),
        ("Brooklyn", "New York", "112"),
        ("Los Angeles", "CA", "900"),
        ("Chicago", "IL", "606"),
        ("Houston", "Texas", "770"),
        ("Phoenix", "AZ", "850"),
        ("Philadelphia", "PA", "191"),
        ("San Antonio", "TX", "782"),
        ("San Diego", "California", "921"),
        ("Dallas", "TX", "752"),
        ("Boston", "MA", "021"),
        ("Seattle", "WA", "981"),
    ]
)
DOMAINS = np.array(
    ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com", "example.com"]
)
HEADER = (
    "customer_id,first_name,last_name,email,phone,address_line1,address_line2,city,state,postal_code,"
    "country,date_of_birth,signup_date,consent_email,consent_ads"
)
CONTRACT = """\
source: crm_customers
description: Advertiser CRM customer extract (benchmark copy).
owner: advertiser
file: {format: csv, compression: gzip, delimiter: ",", header: true, encoding: utf-8}
max_rejected_share: 0.05
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


def make_crm_lines(rows: int, seed: int = 7) -> list[str]:
    """CSV lines (no header) for ``rows`` CRM records, built column-wise with numpy."""
    rng = np.random.default_rng(seed)
    first = rng.choice(FIRST_NAMES, rows)
    last = rng.choice(LAST_NAMES, rows)
    # ~5% of records are a second record of an earlier person: same name, a format variant of the rest.
    duplicate_of = np.where(rng.random(rows) < 0.05, rng.integers(0, rows, rows), np.arange(rows))
    first, last = first[duplicate_of], last[duplicate_of]
    person = duplicate_of
    emails = _emails(rng, first, last, person)
    phones = _phones(rng, person)
    city = CITIES[person % len(CITIES)]
    address = [
        f"{number} {direction}{street} {suffix}"
        for number, direction, street, suffix in zip(
            (person % 9000) + 1,
            rng.choice(DIRECTIONS, rows),
            STREETS[person % len(STREETS)],
            rng.choice(SUFFIXES, rows),
            strict=True,
        )
    ]
    births = _dates_of_birth(rng, person)
    signup = (np.datetime64("2018-01-01") + rng.integers(0, 2300, rows).astype("timedelta64[D]")).astype(str)
    consent = rng.choice(np.array(["true", "false", "yes", "no", "1", "0"]), (rows, 2))
    lines = [
        f"C{index + 1:08d},{fn},{ln},{email},{phone},{addr},{unit},{c[0]},{c[1]},{c[2]}{zip_tail:02d},US,"
        f"{birth},{signup_day},{ce},{ca}"
        for index, (fn, ln, email, phone, addr, unit, c, zip_tail, birth, signup_day, ce, ca) in enumerate(
            zip(
                first,
                last,
                emails,
                phones,
                address,
                rng.choice(UNITS, rows),
                city,
                person % 100,
                births,
                signup,
                consent[:, 0],
                consent[:, 1],
                strict=True,
            )
        )
    ]
    _break_some(rng, lines)
    return lines


def _emails(rng: np.random.Generator, first: np.ndarray, last: np.ndarray, person: np.ndarray) -> list[str]:
    domains = DOMAINS[person % len(DOMAINS)]
    style = rng.integers(0, 6, len(person))
    emails = []
    for fn, ln, number, domain, kind in zip(first, last, person, domains, style, strict=True):
        user = f"{fn}.{ln}{number % 1000}".replace(" ", "").replace("'", "")
        if kind == 1:
            user = user.upper()
        elif kind == 2 and domain == "gmail.com":
            user = user.replace(".", "") + "+promo"
        elif kind == 3:
            domain = "googlemail.com" if domain == "gmail.com" else domain
        elif kind == 4:
            user = f" {user}"
        emails.append(f"{user}@{domain}")
    return emails


def _phones(rng: np.random.Generator, person: np.ndarray) -> list[str]:
    area = 201 + (person * 7919) % 780
    exchange = 200 + (person * 104729) % 800
    line = (person * 1299709) % 10000
    formats = (
        "({a}) {e}-{n:04d}",
        "{a}-{e}-{n:04d}",
        "{a}.{e}.{n:04d}",
        "+1 {a} {e} {n:04d}",
        "1{a}{e}{n:04d}",
        "{a}{e}{n:04d}",
    )
    chosen = rng.integers(0, len(formats), len(person))
    return [
        formats[kind].format(a=a, e=e, n=n)
        for a, e, n, kind in zip(area, exchange, line, chosen, strict=True)
    ]


def _dates_of_birth(rng: np.random.Generator, person: np.ndarray) -> list[str]:
    days = np.datetime64("1940-01-01") + ((person * 2654435761) % 23000).astype("timedelta64[D]")
    iso = days.astype(str)
    formats = rng.integers(0, 5, len(person))
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    out = []
    for text, kind in zip(iso, formats, strict=True):
        year, month, day = text.split("-")
        out.append(
            (
                text,
                f"{month}/{day}/{year}",
                f"{int(day)} {months[int(month) - 1]} {year}",
                f'"{months[int(month) - 1]} {int(day)}, {year}"',
                f"{year}{month}{day}",
            )[kind]
        )
    return out


def _break_some(rng: np.random.Generator, lines: list[str]) -> None:
    """About 0.5% malformed rows: wrong column counts, invalid UTF-8, bad dates, missing ids."""
    broken = rng.choice(len(lines), size=len(lines) // 200, replace=False)
    for kind, index in zip(rng.integers(0, 5, len(broken)), broken, strict=True):
        fields = next(csv.reader([lines[index]]))
        if kind == 0:
            fields = fields[:9]
        elif kind == 1:
            fields.append("extra")
        elif kind == 2:
            fields[12] = "2024-02-30"
        elif kind == 3:
            fields[0] = ""
        else:
            fields[1] = "\udcff\udcfe"  # surrogates, written as invalid UTF-8 bytes below
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(fields)
        lines[index] = buffer.getvalue()


def write_landing(lake: Lake, lines: list[str], parts: int) -> None:
    folder = lake.landing_dir("crm_customers", DT)
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(lines) // parts)
    for part in range(parts):
        chunk = lines[part * size : (part + 1) * size]
        text = HEADER + "\n" + "\n".join(chunk) + "\n"
        with gzip.open(folder / f"crm_customers-{part:05d}.csv.gz", "wb", compresslevel=1) as handle:
            handle.write(text.encode("utf-8", errors="surrogateescape"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--parts", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hygiene-") as tmp:
        root = Path(tmp)
        lake = Lake(root / "lake")
        (root / "crm_customers.yaml").write_text(CONTRACT)
        contract = load_contract(root / "crm_customers.yaml")
        started = time.perf_counter()
        write_landing(lake, make_crm_lines(args.rows), args.parts)
        print(
            f"generated {args.rows:,} CRM rows in {args.parts} gzip parts: {time.perf_counter() - started:.1f} s"
        )
        config = HygieneConfig()
        import pandas  # noqa: F401  DuckDB's Arrow interop imports it; keep the one-time import out of the timing

        ingest_seconds, ingest_cpu, reconciliation = _timed(
            lambda: ingest_source(lake, contract, DT, config=config)
        )
        curate_seconds, curate_cpu, counts = _timed(lambda: curate_source(lake, contract, DT, config=config))
    total = ingest_seconds + curate_seconds
    rows = reconciliation.rows_in
    print(
        f"cores: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.1f} (other work on the machine slows wall time)"
    )
    print(
        f"ingest (read + validate + raw/quarantine): {ingest_seconds:6.1f} s wall {ingest_cpu:6.1f} s cpu "
        f"{rows / ingest_seconds:>10,.0f} rows/s  (accepted {reconciliation.accepted:,}, "
        f"quarantined {reconciliation.quarantined:,})"
    )
    print(
        f"curate (normalize + hash + curated):       {curate_seconds:6.1f} s wall {curate_cpu:6.1f} s cpu "
        f"{counts['rows'] / curate_seconds:>10,.0f} rows/s"
    )
    print(
        f"total validation + normalization:          {total:6.1f} s wall {ingest_cpu + curate_cpu:6.1f} s cpu "
        f"{rows / total:>10,.0f} rows/s"
    )
    print(
        f"emails invalid {counts['email_invalid']:,}, phones unusable {counts['phone_missing']:,}, "
        f"dates of birth unparsed {counts['date_of_birth_missing']:,}"
    )


def _timed(step: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, CPU seconds of this process (all threads), and the step's result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = step()
    return time.perf_counter() - wall, time.process_time() - cpu, result


if __name__ == "__main__":
    main()
