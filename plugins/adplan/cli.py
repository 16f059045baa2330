"""The ``adplan`` command: generate the sample world, run DAGs, query the warehouse.

Engines are imported inside each command so that ``adplan --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click

from adplan.settings import get_settings

EXIT_REJECTED = 3


def _today() -> date:
    return datetime.now(UTC).date()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """adplan: an advertising agency's planning data work, as Airflow DAGs on AWS or on a laptop."""


@main.command()
@click.option(
    "--people",
    type=click.IntRange(min=10),
    default=20_000,
    show_default=True,
    help="How many people live in the world.",
)
@click.option(
    "--days",
    type=click.IntRange(min=1, max=366),
    default=28,
    show_default=True,
    help="Days of ad events and orders before the as-of date.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed; same seed, same files.")
@click.option(
    "--date",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="As-of date: the landing partition dt (default: today, UTC).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Home folder to write lake/landing and ground_truth into (default: $ADPLAN_HOME).",
)
def generate(people: int, days: int, seed: int, as_of: datetime | None, out: Path | None) -> None:
    """Generate the synthetic agency world as landing files, with ground truth beside them."""
    from adplan.world import generate as generate_world

    home = out or get_settings().home
    run_date = as_of.date() if as_of else _today()
    with click.progressbar(length=people, label=f"generating {people:,} people", file=sys.stderr) as bar:
        summary = generate_world(
            home, people=people, days=days, seed=seed, as_of=run_date, progress=bar.update
        )
    click.echo(f"landing files for {run_date} in {home / 'lake' / 'landing'}")
    click.echo(f"ground truth in {home / 'ground_truth'}")
    for source, rows in sorted(summary.rows.items()):
        click.echo(f"  {source:<22} {rows:>12,} rows")


@main.command()
@click.argument("dag_ids", nargs=-1, required=True, metavar="DAG_ID...")
@click.option(
    "--date",
    "run_date",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Logical date of the run (default: today, UTC).",
)
@click.option("--conf", default=None, help='Run configuration as JSON, e.g. \'{"sources": "orders"}\'.')
def run(dag_ids: tuple[str, ...], run_date: datetime | None, conf: str | None) -> None:
    """Run DAGs through Airflow on this machine (dag.test), in the order given, and exit non-zero unless
    all succeed. The first that fails stops the rest."""
    from adplan.airflow_run import run_dags

    try:
        conf_dict = json.loads(conf) if conf else None
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"--conf is not JSON: {error}") from error
    states = run_dags(list(dag_ids), run_date.date() if run_date else _today(), conf_dict)
    for dag_id in dag_ids:
        click.echo(f"{dag_id}: {states.get(dag_id, 'not run')}")
    if any(states.get(dag_id) != "success" for dag_id in dag_ids):
        sys.exit(1)


@main.command()
@click.option("--people", type=click.IntRange(min=10), default=5_000, show_default=True)
@click.option("--date", "as_of", type=click.DateTime(["%Y-%m-%d"]), default="2026-11-28", show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
def demo(people: int, as_of: datetime, seed: int) -> None:
    """Generate the sample world and run every DAG end to end on the local target."""
    from adplan import airflow_env
    from adplan.airflow_run import existing_pipeline, run_dag
    from adplan.warehouse import Warehouse
    from adplan.world import generate as generate_world

    settings = get_settings()
    if settings.target != "local":
        raise click.UsageError("the demo runs on the local target; unset ADPLAN_TARGET")
    run_date = as_of.date()
    click.echo(f"1. generating a world of {people:,} people as of {run_date} into {settings.home}")
    generate_world(settings.home, people=people, seed=seed, as_of=run_date)
    dag_ids = existing_pipeline(Path(airflow_env.defaults()["AIRFLOW__CORE__DAGS_FOLDER"]))
    failed = []
    for step, dag_id in enumerate(dag_ids, start=2):
        click.echo(f"{step}. running DAG {dag_id} for {run_date}")
        state = run_dag(dag_id, run_date)
        click.echo(f"   {dag_id}: {state}")
        if state != "success":
            failed.append(dag_id)
    warehouse = Warehouse.from_settings()
    warehouse.refresh_catalog()
    con = warehouse.connect()
    click.echo("\nTables in the warehouse (rows for this date):")
    for zone, table in warehouse.lake.tables():
        rows = con.execute(f"SELECT count(*) FROM \"{table}\" WHERE dt = '{run_date}'").fetchall()[0][0]
        click.echo(f"  {zone:<11} {table:<36} {rows:>10,}")
    dashboard = warehouse.lake.root / "analytics" / "report" / f"dt={run_date}" / "report.html"
    if dashboard.is_file():
        click.echo(f"\ndashboard (open in a browser): {dashboard}")
    click.echo(
        f'\nlake: {warehouse.lake.root}\ncatalog: {warehouse.catalog_path}  (try: adplan sql "SHOW TABLES")'
    )
    if failed:
        raise click.ClickException(f"DAG runs failed: {', '.join(failed)}")


@main.command()
@click.argument("query")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option("--limit", type=int, default=100, show_default=True, help="Rows shown in table format.")
def sql(query: str, output_format: str, limit: int) -> None:
    """Run a query on the local warehouse (DuckDB SQL over the lake's tables)."""
    import duckdb

    from adplan.warehouse import Warehouse

    con = Warehouse.from_settings().connect()
    try:
        relation = con.sql(query)
    except duckdb.Error as error:
        raise click.ClickException(str(error)) from error
    if relation is None:
        return
    if output_format == "table":
        relation.show(
            max_rows=limit, max_width=os.get_terminal_size().columns if sys.stdout.isatty() else 200
        )
        return
    frame = relation.to_arrow_table()
    if output_format == "csv":
        import pyarrow.csv as pa_csv

        pa_csv.write_csv(frame, sys.stdout.buffer)
    else:
        for row in frame.to_pylist():
            click.echo(json.dumps(row, default=str))


@main.command()
@click.option(
    "--schema-mapping",
    "schema_mappings",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CreateSchemaMapping JSON file (repeat for each input).",
)
@click.option(
    "--workflow",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CreateMatchingWorkflow JSON file (RULE_MATCHING or ML_MATCHING).",
)
@click.option(
    "--input",
    "inputs",
    multiple=True,
    required=True,
    metavar="NAME=PATH",
    help="An input source: its name in the workflow and a CSV or Parquet file.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (.csv or .parquet) in the service's output shape.",
)
def match(schema_mappings: tuple[Path, ...], workflow: Path, inputs: tuple[str, ...], out: Path) -> None:
    """Resolve identities in files with an AWS Entity Resolution workflow, without Airflow."""
    from adplan.matching import MatchingConfigError, MatchingInputError, match_files

    named: dict[str, Path] = {}
    for item in inputs:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise click.BadParameter(f"{item!r} is not NAME=PATH", param_hint="--input")
        named[name] = Path(path)
    try:
        summary = match_files(list(schema_mappings), workflow, named, out)
    except (MatchingConfigError, MatchingInputError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {out}")
    click.echo(json.dumps({key: summary[key] for key in summary if key != "timings"}, indent=2, default=str))


@main.command()
def setup() -> None:
    """Prepare the local Airflow home (SQLite database) for this project."""
    from adplan import airflow_env
    from adplan.airflow_run import migrate_database

    env = airflow_env.apply()
    migrate_database()
    click.echo(f"Airflow home ready: {env['AIRFLOW_HOME']}")


@main.command()
def airflow() -> None:
    """Start `airflow standalone` with this project's DAGs and plugins."""
    from adplan import airflow_env

    env = airflow_env.apply()
    home = Path(env["AIRFLOW_HOME"])
    click.echo("Airflow UI: http://localhost:8080  (user admin)")
    click.echo(f"Password file: {home / 'simple_auth_manager_passwords.json.generated'}")
    airflow_bin = Path(sys.executable).with_name("airflow")
    # standalone starts its components as `airflow ...` subprocesses: the venv's bin must be on PATH.
    path = f"{airflow_bin.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    os.execve(str(airflow_bin), [str(airflow_bin), "standalone"], {**os.environ, "PATH": path})


def _add_engine_commands() -> None:
    # Each engine owns its command group; imported here (cheap: click only) so `--help` lists them.
    from adplan.attribution.cli import attribute
    from adplan.cleanroom.cli import cleanroom
    from adplan.infra.cli import infra
    from adplan.insights.cli import report

    main.add_command(attribute)
    main.add_command(cleanroom)
    main.add_command(infra)
    main.add_command(report)


_add_engine_commands()

if __name__ == "__main__":
    main()
