"""Test session set-up: a private ADPLAN_HOME, the project's Airflow home, no AWS credentials."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before anything imports adplan.settings or Airflow.
_HOME = Path(tempfile.mkdtemp(prefix="adplan-test-home-"))
os.environ["ADPLAN_HOME"] = str(_HOME)
os.environ.pop("ADPLAN_TARGET", None)
for _name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from adplan import airflow_env  # noqa: E402

airflow_env.apply()

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def adplan_home() -> Path:
    return _HOME
