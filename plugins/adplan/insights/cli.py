"""``adplan report``: the campaign insights dashboard as one HTML file, from the local warehouse.

The lead adds the command to the ``adplan`` group (``main.add_command(report)``).
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="HTML file to write (replaced atomically).",
)
@click.option(
    "--date", "ds", default=None, help="Data date YYYY-MM-DD (default: the latest in the warehouse)."
)
@click.option(
    "--model", default="linear", show_default=True, help="Attribution model of conversions and revenue."
)
def report(out: Path, ds: str | None, model: str) -> None:
    """Write the campaign insights dashboard (self-contained HTML) from the local warehouse.

    KPI marts that were not built for the date are computed in memory; tables whose use case has not
    run yet show "no data yet".
    """
    from adplan.insights.data import load_dashboard_data
    from adplan.insights.report import write_report

    try:
        data = load_dashboard_data(ds, model)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    path = write_report(data, out)
    missing = sorted(name for name, table in data["tables"].items() if table is None)
    click.echo(f"wrote {path} ({path.stat().st_size:,} bytes) for {data['ds']}")
    if missing:
        click.echo(f"no data yet: {', '.join(missing)}")
