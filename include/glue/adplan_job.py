"""AWS Glue job (Glue 5.0, Python 3.11, the script on the driver): run one registered adplan job for one date.

Thin on purpose: it reads the job arguments and calls ``adplan.jobs.run``, the same entry point the
local target runs in the Airflow worker, against the lake on S3. The aws target's ``job`` builder
starts the one Glue job ``adplan-job`` with these arguments (``adplan.targets.aws``); the job itself
is defined in ``include/infra/adplan-lake.json`` (``adplan infra render``).

Job parameters:
    --job      a name registered in ``adplan.jobs.JOBS``, e.g. hygiene.ingest
    --ds       the partition date, YYYY-MM-DD
    --params   the job's keyword arguments as a JSON object (rendered by Airflow), e.g. {"source": "orders"}
    --lake     the lake, e.g. s3://adplan-lake (a local folder works too, for a dry run)

Job set-up: ``--extra-py-files`` the adplan package zip; ``--additional-python-modules`` the engines'
libraries at the project's pinned versions. DuckDB reads and writes ``s3://`` through a boto3 file
system (``adplan.s3files``; credentials from the job's role). The hygiene, attribution and audience
jobs take the ``lake`` argument.

The job prints the run's summary (JSON, counts only) to its log; a failure raises, which fails the job
run with the engine's message.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from adplan.jobs import run

ARGUMENTS = ("job", "ds", "params", "lake")


def parse_arguments(argv: Sequence[str]) -> dict[str, str]:
    """The job's arguments, with Glue's ``getResolvedOptions`` when it is there, else argparse.

    ``argv`` is the whole command line (program name first), as Glue passes it in ``sys.argv``.
    """
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        parser = argparse.ArgumentParser(prog="adplan_job", description="Run one adplan job for a date.")
        for name in ARGUMENTS:
            parser.add_argument(f"--{name}", required=True)
        # Glue adds its own arguments (--JOB_NAME, --job-bookmark-option, ...): ignore them.
        known, _ = parser.parse_known_args(list(argv[1:]))
        return vars(known)
    return dict(getResolvedOptions(list(argv), list(ARGUMENTS)))


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(sys.argv if argv is None else argv)
    params = json.loads(arguments["params"] or "{}")
    if not isinstance(params, dict):
        raise SystemExit(f"--params must be a JSON object, not {arguments['params']!r}")
    result = run(arguments["job"], arguments["ds"], {**params, "lake": arguments["lake"]})
    print(json.dumps(result, default=str))
    return result


if __name__ == "__main__":
    main()
