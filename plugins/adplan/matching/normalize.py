"""Normalization of match-key values when an input has ``applyNormalization`` set.

AWS Entity Resolution normalizes NAME, ADDRESS, PHONE and EMAIL_ADDRESS values before matching. The
project's normalization rules (AWS ER semantics) are ``adplan.hygiene.normalize``; each field is
normalized by the rule of its own type (a group's parts one by one, then joined by a space). The rules
are registered on the DuckDB connection as vectorized (Arrow) functions that normalize each distinct
value once, because names, cities and postal codes repeat a lot.

The curated tables are already normalized by those same rules, and every rule's output is a fixed
point of the rule, so the project's workflows set ``applyNormalization`` to false for them: a second
pass would cost seconds per million records and change nothing. Ad-hoc inputs (``adplan match`` on a
raw CSV) keep it on.

Hook: :data:`HYGIENE_FUNCTIONS` names, per field type, the function of ``adplan.hygiene.normalize``
to use. When that module or a function is missing, :func:`fallback_sql` applies the minimal, safe
part in SQL: trim, lower case, collapse blanks, digits-only phones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import duckdb
import pyarrow as pa

HYGIENE_MODULE = "adplan.hygiene.normalize"
# The normalization hook: field type -> function of adplan.hygiene.normalize (str -> str | None).
HYGIENE_FUNCTIONS = {
    "NAME": "normalize_name",
    "NAME_FIRST": "normalize_name",
    "NAME_MIDDLE": "normalize_name",
    "NAME_LAST": "normalize_name",
    "ADDRESS": "normalize_address",
    "ADDRESS_STREET1": "normalize_address",
    "ADDRESS_STREET2": "normalize_address",
    "ADDRESS_STREET3": "normalize_address",
    "ADDRESS_CITY": "normalize_city",
    "ADDRESS_STATE": "normalize_state",
    "ADDRESS_COUNTRY": "normalize_country",
    "ADDRESS_POSTALCODE": "normalize_postal_code",
    "PHONE": "normalize_phone",
    "PHONE_NUMBER": "normalize_phone",
    "EMAIL_ADDRESS": "normalize_email",
}
# The kinds the service normalizes (a field's group kind, see config.GROUP_KIND).
NORMALIZED_KINDS = frozenset({"NAME", "ADDRESS", "PHONE", "EMAIL_ADDRESS"})


def hygiene_normalizers() -> dict[str, Callable[[str], str | None]]:
    """Field type -> the hygiene stage's normalization function, for those that exist now."""
    try:
        module = importlib.import_module(HYGIENE_MODULE)
    except ImportError:
        return {}
    found = {}
    for field_type, function_name in HYGIENE_FUNCTIONS.items():
        function = getattr(module, function_name, None)
        if callable(function):
            found[field_type] = _key_only(function)
    return found


def register_normalizers(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Register the hygiene functions on ``con``; returns field type -> SQL function name."""
    existing = {row[0] for row in con.execute("SELECT function_name FROM duckdb_functions()").fetchall()}
    registered = {}
    for field_type, function in hygiene_normalizers().items():
        sql_name = f"adplan_{HYGIENE_FUNCTIONS[field_type]}"
        if sql_name not in existing:
            con.create_function(sql_name, _vectorized(function), ["VARCHAR"], "VARCHAR", type="arrow")
            existing.add(sql_name)
        registered[field_type] = sql_name
    return registered


def normalize_field_sql(field_type: str, kind: str, value_sql: str, registered: dict[str, str]) -> str:
    """SQL normalizing one field's value (``value_sql``, text or NULL) by the rule of its type."""
    if field_type in registered:
        return f"nullif({registered[field_type]}({value_sql}), '')"
    return fallback_sql(kind, value_sql)


def hashed_sql(value_sql: str) -> str:
    """A hash is compared as delivered: lower-case hex, no blanks."""
    return f"nullif(lower(trim({value_sql})), '')"


def fallback_sql(kind: str, value_sql: str) -> str:
    """Trim and lower case (and digits only for phones) where no hygiene function is available."""
    text = f"lower(trim(CAST({value_sql} AS VARCHAR)))"
    if kind == "PHONE":
        return f"nullif(regexp_replace({text}, '[^0-9]', '', 'g'), '')"
    if kind in ("NAME", "ADDRESS"):
        return f"nullif(trim(regexp_replace({text}, '\\s+', ' ', 'g')), '')"
    return f"nullif({text}, '')"


def _key_only(function: Callable) -> Callable[[str], str | None]:
    # normalize_email answers (key, is_valid); matching needs the key only.
    def normalize(value: str) -> str | None:
        result = function(value)
        return result[0] if isinstance(result, tuple) else result

    return normalize


def _vectorized(function: Callable[[str], str | None]) -> Callable[[pa.Array], pa.Array]:
    def normalize_batch(values: pa.Array) -> pa.Array:
        cache: dict[str, str | None] = {}
        out = []
        for value in values.to_pylist():
            if value is None:
                out.append(None)
                continue
            if value not in cache:
                try:
                    cache[value] = function(value)
                except (TypeError, ValueError):
                    cache[value] = None  # an unparseable value is missing: nulls never match
            out.append(cache[value])
        return pa.array(out, type=pa.string())

    return normalize_batch
