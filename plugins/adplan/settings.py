"""One settings object for the whole project, read from the environment.

Every AWS resource name, the bucket, the Athena workgroup, the region and the Airflow connection id
come from here, never from DAG files. Environment variables are named ``ADPLAN_<FIELD>`` in capitals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
TARGETS = ("local", "aws")


@dataclass(frozen=True)
class Settings:
    target: str = "local"
    home: Path = PROJECT_DIR / ".adplan"
    project_dir: Path = PROJECT_DIR
    timezone: str = "UTC"
    # The nightly run (02:00) must be done within this many minutes of being queued, or ops are alerted.
    nightly_deadline_minutes: int = 240
    # Retries of a failed task (with exponential backoff from one minute, at most 15).
    task_retries: int = 2
    # aws target
    aws_conn_id: str = "aws_default"
    # The Airflow pool bounding concurrent AWS jobs (include/airflow/pools.json).
    aws_pool: str = "adplan_aws"
    region: str = "us-east-1"
    bucket: str = "adplan-lake"
    athena_workgroup: str = "adplan"
    athena_output: str = ""  # defaults to s3://<bucket>/athena-results/
    # How long Athena may answer a dashboard query from a previous identical query's result.
    athena_result_reuse_minutes: int = 60
    # The Airflow connection of type ``athena`` the data-quality checks query through.
    athena_sql_conn_id: str = "adplan_athena"
    glue_database: str = "adplan"
    glue_iam_role: str = "adplan-glue"
    glue_script_prefix: str = "glue-scripts/"
    entity_resolution_role_arn: str = ""
    clean_rooms_membership_id: str = ""
    state_machine_arn: str = ""
    bedrock_model_id: str = "anthropic.claude-3-5-haiku-20241022-v1:0"
    quicksight_account_id: str = ""

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"ADPLAN_TARGET must be one of {', '.join(TARGETS)}, not {self.target!r}")

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def config_dir(self) -> Path:
        return self.project_dir / "include" / "config"

    @property
    def contracts_dir(self) -> Path:
        return self.project_dir / "include" / "contracts"

    @property
    def sql_dir(self) -> Path:
        return self.project_dir / "sql"

    @property
    def s3_lake(self) -> str:
        return f"s3://{self.bucket}"

    @property
    def athena_output_location(self) -> str:
        return self.athena_output or f"s3://{self.bucket}/athena-results/"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = env.get(f"ADPLAN_{field.name.upper()}")
            if raw is None or raw == "":
                continue
            if field.type == "Path":
                values[field.name] = Path(raw).expanduser().resolve()
            elif field.type == "int":
                try:
                    values[field.name] = int(raw)
                except ValueError:
                    raise ValueError(
                        f"ADPLAN_{field.name.upper()} must be a whole number, not {raw!r}"
                    ) from None
            else:
                values[field.name] = raw
        return cls(**values)


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once; tests call ``get_settings.cache_clear()``)."""
    return Settings.from_env()
