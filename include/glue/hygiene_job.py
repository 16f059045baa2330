"""AWS Glue job (Python shell, Glue 5 / Python 3.11): data hygiene for one landing source and date.

Thin on purpose: it reads the job arguments and calls ``adplan.hygiene.run_source``, the same entry
point the local target runs, against the lake on S3. Validation, quarantine, normalization and
hashing all live in the package.

Job parameters:
    --source       landing source, e.g. crm_customers
    --dt           partition date, YYYY-MM-DD
    --lake_root    the lake, e.g. s3://adplan-lake (a local folder works too, for a dry run)
    --contracts    optional: folder of contract YAML files (s3://... or a local path); default:
                   include/contracts of the package's project layout
    --config       optional: hygiene.yaml location (s3://... or a local path)

Job set-up (by the aws target): ``--extra-py-files`` the adplan package zip;
``--additional-python-modules`` duckdb, phonenumbers, unidecode, pyyaml, pyarrow at the project's pinned
versions. DuckDB reads and writes S3 itself (httpfs, credentials from the job's role) and installs its
httpfs and aws extensions at start, so the job needs a route to the DuckDB extension repository or the
extensions pre-installed in its environment.

The job prints the run's counts (JSON, no values) to its log; a failed validation raises, which fails
the job run with the engine's message.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from adplan.hygiene import run_source
from adplan.hygiene.jobs import lake_at

REQUIRED_ARGUMENTS = ("source", "dt", "lake_root")
OPTIONAL_ARGUMENTS = ("contracts", "config")


def parse_arguments(argv: Sequence[str]) -> dict[str, str]:
    """The job's arguments, with Glue's ``getResolvedOptions`` when it is there, else argparse.

    ``argv`` is the whole command line (program name first), as Glue passes it in ``sys.argv``.
    """
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        return _parse_with_argparse(argv)
    # getResolvedOptions fails on a name that was not passed: ask only for optional ones present.
    present = [name for name in OPTIONAL_ARGUMENTS if f"--{name}" in argv]
    return dict(getResolvedOptions(list(argv), [*REQUIRED_ARGUMENTS, *present]))


def _parse_with_argparse(argv: Sequence[str]) -> dict[str, str]:
    parser = argparse.ArgumentParser(prog="hygiene_job", description="Data hygiene for one source and date.")
    for name in REQUIRED_ARGUMENTS:
        parser.add_argument(f"--{name}", required=True)
    for name in OPTIONAL_ARGUMENTS:
        parser.add_argument(f"--{name}")
    # Glue adds its own arguments (--JOB_NAME, --job-bookmark-option, ...): ignore them.
    known, _ = parser.parse_known_args(list(argv[1:]))
    return {name: value for name, value in vars(known).items() if value is not None}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(sys.argv if argv is None else argv)
    result = run_source(
        lake_at(arguments["lake_root"]),
        arguments["source"],
        arguments["dt"],
        contracts=arguments.get("contracts"),
        config=arguments.get("config"),
    )
    print(json.dumps(result, default=str))
    return result


if __name__ == "__main__":
    main()
