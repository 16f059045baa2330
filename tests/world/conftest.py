"""A small world (2,000 people), generated once per session, and a second run of it for determinism."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from adplan.world import WorldSummary, generate

PEOPLE = 2_000
AS_OF = date(2026, 11, 28)
SEED = 7


@dataclass(frozen=True)
class World:
    summary: WorldSummary

    @property
    def truth(self) -> Path:
        return self.summary.ground_truth_dir

    def table(self, name: str):
        return pq.read_table(self.truth / f"{name}.parquet")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(generate(tmp_path_factory.mktemp("world"), PEOPLE, seed=SEED, as_of=AS_OF))


@pytest.fixture(scope="session")
def world_again(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The same arguments again, written to another folder."""
    return World(generate(tmp_path_factory.mktemp("world-again"), PEOPLE, seed=SEED, as_of=AS_OF))
