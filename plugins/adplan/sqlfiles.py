"""SQL files: Athena (Trino) SQL templated with Jinja, transpiled to DuckDB by sqlglot for the local target.

A file is addressed by its path under ``sql/`` (``"hygiene/reconcile.sql"``). Templates see the same
names as in Airflow's rendering of the same file on the aws target: ``ds`` and ``params``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import sqlglot

from adplan.settings import PROJECT_DIR

SQL_DIR = PROJECT_DIR / "sql"


@cache
def _environment(sql_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(sql_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def sql_files(sql_dir: Path = SQL_DIR) -> list[str]:
    return sorted(str(path.relative_to(sql_dir)) for path in sql_dir.rglob("*.sql"))


def render(name: str, ds: str, params: dict[str, Any] | None = None, sql_dir: Path = SQL_DIR) -> str:
    """Render ``sql/<name>`` to Athena SQL with ``ds`` and ``params``."""
    template = _environment(sql_dir).get_template(name)
    return template.render(ds=ds, params=params or {})


def to_duckdb(trino_sql: str) -> str:
    """Transpile one Athena (Trino) statement to DuckDB SQL."""
    statements = sqlglot.transpile(trino_sql, read="trino", write="duckdb")
    if len(statements) != 1:
        raise ValueError(f"expected one SQL statement, got {len(statements)}")
    return statements[0]


def render_duckdb(name: str, ds: str, params: dict[str, Any] | None = None, sql_dir: Path = SQL_DIR) -> str:
    return to_duckdb(render(name, ds, params, sql_dir))
