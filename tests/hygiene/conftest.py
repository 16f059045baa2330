"""Fixtures for the hygiene engine's tests: a lake in tmp_path, contracts, landing files written by hand."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest
from hygiene_fixtures import CRM_CONTRACT, DT, ORDERS_CONTRACT

from adplan.hygiene import Contract, HygieneConfig, load_contract
from adplan.lake import Lake


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture
def config() -> HygieneConfig:
    # Judge small test files by their real share.
    return HygieneConfig(min_rows_for_share=1)


@pytest.fixture
def write_contract(tmp_path: Path) -> Callable[[str], Contract]:
    def write(text: str) -> Contract:
        source = next(
            line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("source:")
        )
        path = tmp_path / "contracts" / f"{source}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return load_contract(path)

    return write


@pytest.fixture
def crm_contract(write_contract: Callable[[str], Contract]) -> Contract:
    return write_contract(CRM_CONTRACT)


@pytest.fixture
def orders_contract(write_contract: Callable[[str], Contract]) -> Contract:
    return write_contract(ORDERS_CONTRACT)


@pytest.fixture
def land(lake: Lake) -> Callable[..., Path]:
    """Write a landing file: ``land(source, name, content)``; str content is UTF-8, gzipped for .gz names."""

    def write(source: str, name: str, content: str | bytes, dt: str = DT) -> Path:
        folder = lake.landing_dir(source, dt)
        folder.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        path = folder / name
        path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
        return path

    return write
