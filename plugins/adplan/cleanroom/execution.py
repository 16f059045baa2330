"""Running a checked query on DuckDB and writing its result where the service would (one file per query).

Results are written to a hidden temporary file and renamed into place, so a reader never sees half a
result. DuckDB errors are turned into clean-room errors; messages of errors raised while computing
values (conversions, overflows) are withheld, since they can quote a row's value.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from adplan.cleanroom.checker import CheckedQuery
from adplan.cleanroom.errors import INTERNAL_ERROR, INVALID_RESOURCE, MALFORMED_QUERY, CleanRoomsError
from adplan.cleanroom.privacy import PrivacyBudgetLedger, add_noise

RESULT_FORMATS = {"CSV": "csv", "PARQUET": "parquet"}
_VALUE_ERRORS = tuple(
    getattr(duckdb, name)
    for name in (
        "ConversionException",
        "InvalidInputException",
        "OutOfRangeException",
        "TypeMismatchException",
    )
    if hasattr(duckdb, name)
)
_SCHEMA_ERRORS = tuple(
    getattr(duckdb, name)
    for name in ("BinderException", "CatalogException", "ParserException")
    if hasattr(duckdb, name)
)


def result_path(output_dir: Path, query_id: str, result_format: str) -> Path:
    return Path(output_dir) / query_id / f"result.{RESULT_FORMATS[result_format]}"


def check_data_locations(
    cursor: duckdb.DuckDBPyConnection, checked: CheckedQuery, allowed: dict[str, tuple]
) -> None:
    """Each configured table's data location exists and has its allowed columns."""
    for name, location in checked.data_locations.items():
        try:
            cursor.execute(f"SELECT * FROM {location} LIMIT 0")
        except duckdb.Error as error:
            raise CleanRoomsError(
                INVALID_RESOURCE, f"The data location {location} of configured table {name} can't be read."
            ) from error
        present = {column[0].lower() for column in cursor.description}
        missing = sorted(set(allowed[name]) - present)
        if missing:
            raise CleanRoomsError(
                INVALID_RESOURCE,
                f"The data location {location} of configured table {name} lacks allowed columns {missing}.",
            )


def run_query(
    cursor: duckdb.DuckDBPyConnection,
    checked: CheckedQuery,
    target: Path,
    result_format: str,
    *,
    query_id: str,
    ledger: PrivacyBudgetLedger | None,
    rng: np.random.Generator,
) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".tmp-{target.name}")
    try:
        if checked.private_plan is None:
            _copy_to_file(cursor, checked.executable_sql(), temporary, result_format)
        else:
            true_values = cursor.execute(checked.executable_sql()).df()
            released = add_noise(true_values, checked.private_plan, rng)
            # Charged before anything is written: a refused charge releases nothing.
            ledger.charge(query_id, checked.private_plan.epsilon_cost, checked.private_plan.delta_cost)
            _write_frame(released, temporary, result_format)
        os.replace(temporary, target)
    except duckdb.InterruptException:
        raise
    except CleanRoomsError:
        raise
    except _VALUE_ERRORS as error:
        raise CleanRoomsError(
            MALFORMED_QUERY,
            "The query failed at run time while converting or computing a value (check CASTs, date and number "
            "formats, divisions); details are withheld because they could quote row values.",
        ) from error
    except _SCHEMA_ERRORS as error:
        raise CleanRoomsError(MALFORMED_QUERY, f"The query failed to bind: {error}") from error
    except duckdb.Error as error:
        raise CleanRoomsError(
            INTERNAL_ERROR, f"The query failed at run time ({type(error).__name__})."
        ) from error
    finally:
        if temporary.exists():
            temporary.unlink()


def _copy_to_file(cursor: duckdb.DuckDBPyConnection, sql: str, path: Path, result_format: str) -> None:
    options = "FORMAT CSV, HEADER" if result_format == "CSV" else "FORMAT PARQUET"
    quoted = str(path).replace("'", "''")
    cursor.execute(f"COPY ({sql}) TO '{quoted}' ({options})")


def _write_frame(frame: pd.DataFrame, path: Path, result_format: str) -> None:
    if result_format == "CSV":
        frame.to_csv(path, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
