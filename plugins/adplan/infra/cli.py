"""``adplan infra``: render the CloudFormation templates from the configuration, or check them."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def infra() -> None:
    """CloudFormation templates for the aws target, rendered from include/config and include/contracts."""


@infra.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the templates (default: include/infra/ in the project).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the templates in --out are stale.")
def render(out: Path | None, check: bool) -> None:
    """Write one template per stack (names from the Settings defaults; override them as stack parameters)."""
    from adplan.infra.render import DEFAULT_OUT, render_texts, stale_templates, write_templates

    out = out or DEFAULT_OUT
    texts = render_texts()
    if check:
        stale = stale_templates(out, texts)
        if stale:
            click.echo(f"stale in {out}: {', '.join(stale)}; run `adplan infra render`", err=True)
            sys.exit(1)
        click.echo(f"{len(texts)} templates in {out} are up to date")
        return
    for path in write_templates(out, texts):
        click.echo(str(path))
