"""``generate``: the whole world, streamed a chunk of people at a time, into landing files and ground truth.

Per chunk (``chunk.simulate_chunk``): draw people, render their CRM records, give them devices, expose
them to ads, decide who orders; then write the chunk's part of every people-driven source and append its
ground truth. The small sources (advertisers, campaigns, media plan, creatives) come from the setup;
spend is summed over all chunks and written last. Every chunk has its own random streams (seeded by
seed, chunk and purpose), so a rerun with the same arguments writes the same bytes. Landing partitions
and the ground-truth folder are replaced whole on success; a failed run leaves the previous version.

Memory: a chunk of 25,000 people makes about a million impressions; while the writer thread compresses
one chunk, the next is generated, so two chunks are alive at a time (well under 1 GiB).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from adplan.lake import Lake, atomic_directory
from adplan.world import media
from adplan.world.adlogs import SpendTally
from adplan.world.chunk import Chunk, IdCounters, Stream, simulate_chunk
from adplan.world.csvout import PartWriter
from adplan.world.effects import EffectTally
from adplan.world.malformed import make_malformed
from adplan.world.schema import ROLES, SOURCES, part_name
from adplan.world.truth import TruthWriter

CHUNK_PEOPLE = 25_000
MAX_PEOPLE = 8_000_000  # phone numbers are unique per person within 8M subscriber numbers
MALFORMED_SHARE = 0.005
GZIP_LEVEL = 1  # the fastest; level 6 makes files ~15% smaller and compresses 3-4x slower
EPOCH = date(1970, 1, 1)
_SETUP_CHUNK = 2**31 - 1  # the setup's random stream, apart from every chunk's


@dataclass(frozen=True)
class WorldSummary:
    """What ``generate`` wrote."""

    out_dir: Path
    lake_dir: Path
    ground_truth_dir: Path
    as_of: date
    dt: str  # the landing partition (as_of as YYYY-MM-DD)
    window_start: date  # first day of events; the last is as_of - 1 day
    people: int
    days: int
    seed: int
    rows: dict[str, int]  # data rows per source (good + malformed)
    malformed: dict[str, int]  # malformed rows per source
    files: dict[str, tuple[Path, ...]]  # landing files per source
    bytes: dict[str, int]  # compressed bytes per source
    stats: dict[str, float]  # shares and totals worth knowing (also in ground_truth/world.json)

    @property
    def ad_events(self) -> int:
        """Impressions, clicks and identity events together."""
        return sum(self.rows[source] for source in ("ad_impressions", "ad_clicks", "identity_events"))


def generate(
    out_dir: Path,
    people: int,
    days: int = 28,
    seed: int = 7,
    *,
    as_of: date,
    progress: Callable[[int], object] | None = None,
    chunk_people: int = CHUNK_PEOPLE,
    malformed_share: float = MALFORMED_SHARE,
    gzip_level: int = GZIP_LEVEL,
) -> WorldSummary:
    """Write the world's landing files under ``out_dir/lake`` and its ground truth under ``out_dir/ground_truth``.

    ``as_of`` is the delivery date (the landing partition dt); events cover the ``days`` days before it.
    ``progress`` is called with the number of people done after each chunk.
    """
    _check_arguments(people, days, chunk_people, malformed_share)
    out_dir = Path(out_dir)
    lake = Lake(out_dir / "lake")
    setup = media.build_media(as_of, days, people, _rng(seed, _SETUP_CHUNK, Stream.PEOPLE))
    with contextlib.ExitStack() as stack:
        landing = {
            source: stack.enter_context(atomic_directory(lake.landing_dir(source, as_of.isoformat())))
            for source in SOURCES
        }
        truth_dir = stack.enter_context(atomic_directory(out_dir / "ground_truth"))
        builder = _WorldBuilder(
            lake, landing, TruthWriter(truth_dir), setup, seed, people, malformed_share, gzip_level
        )
        try:
            builder.write_setup_sources()
            for chunk, first in enumerate(range(0, people, chunk_people)):
                count = min(chunk_people, people - first)
                builder.write_chunk(chunk, first, count)
                if progress is not None:
                    progress(count)
            builder.write_spend()
            builder.finish()
        finally:
            builder.close()
    return builder.summary(out_dir)


def _check_arguments(people: int, days: int, chunk_people: int, malformed_share: float) -> None:
    if not 1 <= people <= MAX_PEOPLE:
        raise ValueError(f"people must be between 1 and {MAX_PEOPLE:,}")
    if not 1 <= days <= 366:
        raise ValueError("days must be between 1 and 366")
    if chunk_people < 1:
        raise ValueError("chunk_people must be at least 1")
    if not 0 <= malformed_share < 0.05:
        raise ValueError("malformed_share must be in [0, 0.05)")


def _rng(seed: int, chunk: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chunk, int(stream))))


@dataclass
class _Stats:
    """Running counts for world.json and the summary."""

    crm_people: int = 0
    crm_records: int = 0
    crm_people_with_duplicates: int = 0
    crm_people_in_publisher_audience: int = 0
    exposed_people: int = 0
    resolvable_exposed_people: int = 0
    identity_linked_people: int = 0
    lookalike_people: int = 0
    international_people: int = 0

    def add(self, chunk: Chunk) -> None:
        people = chunk.people
        exposed = chunk.exposures.sum(axis=1) > 0
        in_audience = chunk.per_person(chunk.audience.person_row) > 0
        self.crm_people += int(people.in_crm.sum())
        self.crm_records += chunk.crm.table.num_rows
        self.crm_people_with_duplicates += int((people.crm_records > 1).sum())
        self.crm_people_in_publisher_audience += int((people.in_crm & in_audience).sum())
        self.exposed_people += int(exposed.sum())
        self.resolvable_exposed_people += int((exposed & chunk.resolvable).sum())
        self.identity_linked_people += int((chunk.per_person(chunk.events.person_row) > 0).sum())
        self.lookalike_people += int(people.lookalike_group.sum())
        self.international_people += int(people.address.international.sum())

    def shares(self, effects: EffectTally) -> dict[str, float]:
        incremental = int(effects.realized_incremental.sum())
        return {
            "crm_people": self.crm_people,
            "crm_records": self.crm_records,
            "crm_duplicate_people_share": round(self.crm_people_with_duplicates / max(self.crm_people, 1), 4),
            "crm_in_publisher_audience_share": round(
                self.crm_people_in_publisher_audience / max(self.crm_people, 1), 4
            ),
            "exposed_people": self.exposed_people,
            "resolvable_exposed_share": round(
                self.resolvable_exposed_people / max(self.exposed_people, 1), 4
            ),
            "identity_linked_people": self.identity_linked_people,
            "lookalike_people": self.lookalike_people,
            "international_people": self.international_people,
            "window_conversions": effects.realized_baseline + incremental,
            "incremental_conversions": incremental,
        }


class _WorldBuilder:
    """Writes the parts of one world, keeping the counts its summary reports."""

    def __init__(
        self,
        lake: Lake,
        landing: dict[str, Path],
        truth: TruthWriter,
        setup: media.MediaSetup,
        seed: int,
        people: int,
        malformed_share: float,
        gzip_level: int,
    ) -> None:
        self.lake, self.landing, self.truth, self.setup = lake, landing, truth, setup
        self.dt = setup.as_of.isoformat()
        self.seed, self.people, self.malformed_share = seed, people, malformed_share
        self.writer = PartWriter(gzip_level)
        self.ids = IdCounters()
        self.stats = _Stats()
        self.effects = EffectTally()
        self.spend = SpendTally(setup)
        self.rows = dict.fromkeys(SOURCES, 0)
        self.malformed = dict.fromkeys(SOURCES, 0)
        self.files: dict[str, list[str]] = {source: [] for source in SOURCES}

    def write_setup_sources(self) -> None:
        self._write("advertisers", 0, media.advertisers_table())
        self._write("campaigns", 0, media.campaigns_table(self.setup))
        self._write("media_plan", 0, media.media_plan_table(self.setup))
        self._write("creatives", 0, media.creatives_table(self.setup))

    def write_chunk(self, index: int, first: int, count: int) -> None:
        chunk = simulate_chunk(
            lambda stream: _rng(self.seed, index, stream), self.setup, first, count, self.people, self.ids
        )
        # The writer thread may still be busy with the previous chunk: bound the queue to one chunk.
        self.writer.wait()
        person_id = chunk.people.person_id
        self._write("crm_customers", index, chunk.crm.table, person_id[chunk.crm.person_row])
        self._write("orders", index, chunk.orders.table, person_id[chunk.orders.person_row])
        self._write("publisher_audience", index, chunk.audience.table, person_id[chunk.audience.person_row])
        self._write("ad_impressions", index, chunk.impressions.table, person_id[chunk.impressions.person_row])
        self._write("ad_clicks", index, chunk.clicks.table, person_id[chunk.clicks.person_row])
        self._write("identity_events", index, chunk.events.table, person_id[chunk.events.person_row])
        self.truth.add_chunk(chunk)
        self.effects.add(chunk.people, chunk.exposures, chunk.cause, chunk.orders.window_value_cents)
        self.spend.add(chunk.impressions, chunk.clicks)
        self.stats.add(chunk)
        self.ids.advance(chunk)

    def write_spend(self) -> None:
        self._write("spend", 0, self.spend.table())

    def _write(self, source: str, part: int, table: pa.Table, person_ids: np.ndarray | None = None) -> None:
        """Queue one landing part with its malformed rows, and record those rows in the ground truth."""
        if table.column_names != list(SOURCES[source]):
            raise AssertionError(f"{source} columns {table.column_names} differ from the spec")
        rng = _rng(self.seed, part, Stream.MALFORMED * 100 + list(SOURCES).index(source))
        malformed = make_malformed(rng, source, table, self.malformed_share)
        name = part_name(source, part)
        self.writer.submit(self.landing[source] / name, table, malformed)
        self.files[source].append(name)
        self.rows[source] += table.num_rows + len(malformed)
        self.malformed[source] += len(malformed)
        relative = (self.lake.landing_dir(source, self.dt) / name).relative_to(self.lake.root).as_posix()
        self.truth.add_malformed(
            source, relative, malformed, table.column(ROLES[source].id_column), person_ids
        )

    def finish(self) -> None:
        self.writer.wait()
        self.truth.write_json("channel_effects.json", self.effects.to_json())
        self.truth.write_json("world.json", self._world_document())

    def close(self) -> None:
        try:
            self.writer.close()
        finally:
            self.truth.close()

    def _world_document(self) -> dict:
        window_start = EPOCH + timedelta(days=self.setup.window_start_day)
        return {
            "as_of": self.dt,
            "dt": self.dt,
            "window": {
                "first_day": window_start.isoformat(),
                "last_day": (self.setup.as_of - timedelta(days=1)).isoformat(),
            },
            "people": self.people,
            "days": self.setup.days,
            "seed": self.seed,
            "malformed_share": self.malformed_share,
            "rows": self.rows,
            "malformed_rows": self.malformed,
            "files": self.files,
            "stats": self.stats.shares(self.effects),
            "setup": media.setup_description(self.setup),
        }

    def summary(self, out_dir: Path) -> WorldSummary:
        files = {
            source: tuple(self.lake.landing_dir(source, self.dt) / name for name in names)
            for source, names in self.files.items()
        }
        return WorldSummary(
            out_dir=out_dir,
            lake_dir=self.lake.root,
            ground_truth_dir=out_dir / "ground_truth",
            as_of=self.setup.as_of,
            dt=self.dt,
            window_start=EPOCH + timedelta(days=self.setup.window_start_day),
            people=self.people,
            days=self.setup.days,
            seed=self.seed,
            rows=dict(self.rows),
            malformed=dict(self.malformed),
            files=files,
            bytes={source: sum(path.stat().st_size for path in paths) for source, paths in files.items()},
            stats=self.stats.shares(self.effects),
        )
