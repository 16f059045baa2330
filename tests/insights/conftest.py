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
