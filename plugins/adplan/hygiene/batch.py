"""Applying the pure normalization rules at scale: once per distinct value, joined back in DuckDB.

There is one implementation of each rule (``adplan.hygiene.normalize``). At scale it runs over the
DISTINCT values of a column -- names, cities, postal codes and dates of birth repeat a lot, so those
columns shrink by orders of magnitude -- and the results come back as an Arrow table that DuckDB joins
to the rows. Emails, phones and street addresses are nearly unique per person, so for them this is
about one call per row: measured at 1M CRM rows, 2-3 µs of CPU per distinct value (phones take the
plain North American shapes without a full libphonenumber parse, see ``normalize_phone``), about 10 s
of one core for the whole CRM extract.

It runs in the calling process. Worker processes would have to be spawned (forking a process that
runs DuckDB threads is unsafe), and spawn re-imports the caller's main module, which a task runner or
an unguarded script does not survive (seen while measuring); the single process meets the 60 s target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa


@dataclass(frozen=True)
class Output:
    """One result of a rule: its column name in the lookup table and its Arrow type."""

    name: str
    type: pa.DataType


def distinct_values(con: duckdb.DuckDBPyConnection, relation: str, expression: str) -> list[Any]:
    rows = con.sql(
        f"SELECT DISTINCT {expression} AS value FROM {relation} WHERE {expression} IS NOT NULL"
    ).to_arrow_table()
    return rows.column("value").to_pylist()


def build_lookup(values: Sequence[Any], rule: Callable[[Any], Any], outputs: Sequence[Output]) -> pa.Table:
    """An Arrow table of ``raw_value`` and the rule's outputs for each value.

    A rule with one output returns it; a rule with several returns a tuple in ``outputs`` order.
    """
    results = [rule(value) for value in values]
    if len(outputs) == 1:
        columns = [pa.array(results, type=outputs[0].type)]
    else:
        columns = [
            pa.array([result[position] for result in results], type=output.type)
            for position, output in enumerate(outputs)
        ]
    return pa.table(
        [pa.array(values, type=pa.string()), *columns],
        names=["raw_value", *(output.name for output in outputs)],
    )
