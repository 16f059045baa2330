"""``adplan cleanroom``: run or check a protected query against the local warehouse's configured tables.

    adplan cleanroom query --collaboration include/config/collaboration.yaml --member agency \\
        --sql "SELECT c.segment, COUNT(DISTINCT c.email_sha256) AS n FROM advertiser_customers c \\
               JOIN publisher_audience p ON c.email_sha256 = p.email_sha256 GROUP BY c.segment" [--out out.csv]
    adplan cleanroom check  --member agency --sql "..."
    adplan cleanroom query  --member agency --template conversions_by_campaign --param start_date=2026-11-01

A query the clean room refuses or fails exits with status 3 after printing ``CODE: message``.
The configured tables read the latest partition of their ``cr_*`` data location (``--date`` pins one).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import click
import pandas as pd

REFUSED = 3


def _common(function):
    options = [
        click.option(
            "--collaboration",
            "collaboration_path",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help="Collaboration file [default: include/config/collaboration.yaml].",
        ),
        click.option("--member", required=True, help="The querying member's display name."),
        click.option("--sql", default=None, help="The query, in Clean Rooms SQL."),
        click.option("--template", default=None, help="Run this analysis template instead of --sql."),
        click.option(
            "--param", "params", multiple=True, metavar="NAME=VALUE", help="Analysis template parameter."
        ),
        click.option("--date", "ds", default=None, help="Partition of the cr_* tables [default: latest]."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _parameters(params: tuple[str, ...]) -> dict[str, str] | None:
    parsed = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        parsed[name.strip()] = value
    return parsed or None


def _room(collaboration_path: Path | None, ds: str | None):
    from adplan.cleanroom.config import load_collaboration
    from adplan.cleanroom.jobs import ZONE, room_connection
    from adplan.cleanroom.room import CleanRoom
    from adplan.warehouse import Warehouse

    collaboration = load_collaboration(collaboration_path)
    warehouse = Warehouse.from_settings()
    con = room_connection(collaboration, warehouse, ds)
    room = CleanRoom(collaboration, con, state_dir=warehouse.lake.zone_dir(ZONE) / "state")
    return room, con


def _refuse(error: dict[str, str] | None, status: str) -> None:
    error = error or {}
    click.echo(f"{status} {error.get('code', status)}: {error.get('message', 'no message')}")
    sys.exit(REFUSED)


def _need_query(sql: str | None, template: str | None) -> None:
    if not sql and not template:
        raise click.UsageError("give --sql or --template")


@click.group("cleanroom")
def cleanroom() -> None:
    """Protected queries on the local AWS Clean Rooms engine."""


@cleanroom.command()
@_common
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the result here (CSV, or Parquet if the name ends in .parquet).",
)
@click.option("--limit", type=int, default=100, show_default=True, help="Rows printed.")
def query(collaboration_path, member, sql, template, params, ds, out, limit) -> None:
    """Run a protected query and print its result (exit 3 if the clean room refuses or fails it)."""
    _need_query(sql, template)
    room, con = _room(collaboration_path, ds)
    result_format = "PARQUET" if out is not None and out.suffix == ".parquet" else "CSV"
    scratch = Path(tempfile.mkdtemp(prefix="adplan-cleanroom-"))
    try:
        with room:
            record = room.start_protected_query(
                member,
                sql,
                result_format,
                scratch,
                parameters=_parameters(params),
                analysis_template=template,
            )
        if record["status"] != "SUCCESS":
            _refuse(record.get("error"), record["status"])
        location = Path(record["result"]["output"]["s3"]["location"])
        frame = pd.read_csv(location) if result_format == "CSV" else pd.read_parquet(location)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(location, out)
        click.echo(frame.head(limit).to_string(index=False) if len(frame) else "(no rows)")
        click.echo(
            f"{len(frame)} rows  query {record['id']}" + (f"  written to {out}" if out else ""), err=True
        )
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)


@cleanroom.command()
@_common
def check(collaboration_path, member, sql, template, params, ds) -> None:
    """Validate a query against the analysis rules without running it (exit 0 allowed, 3 refused)."""
    _need_query(sql, template)
    room, con = _room(collaboration_path, ds)
    try:
        with room:
            result = room.check(member, sql, analysis_template=template, parameters=_parameters(params))
    finally:
        con.close()
    if not result.allowed:
        _refuse(result.error, "REFUSED")
    line = f"ALLOWED {result.rule_type} query on {', '.join(result.tables)}"
    if result.epsilon_cost is not None:
        line += f" (epsilon cost {result.epsilon_cost:g})"
    click.echo(line)
