"""Fixtures for the campaign insights tests: a private ADPLAN_HOME with the hand-made lake."""

from __future__ import annotations

from pathlib import Path

import pytest
from insights_world import write_world

from adplan.lake import Lake


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from adplan.settings import get_settings

    monkeypatch.setenv("ADPLAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ADPLAN_TARGET", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


@pytest.fixture
def lake(home: Path) -> Lake:
    return Lake(home / "lake")


@pytest.fixture
def world(lake: Lake) -> Lake:
    write_world(lake, audiences=True)
    return lake


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Fake credentials and region; a request that escapes the stubs goes to a closed local port."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
