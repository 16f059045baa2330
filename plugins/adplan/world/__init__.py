"""The synthetic agency world: landing files for every source, and the ground truth behind them.

``generate(out_dir, people, days, seed, as_of=...)`` writes ``out_dir/lake/landing/<source>/dt=<as_of>/``
(gzip CSV parts, see ``schema.SOURCES``) and ``out_dir/ground_truth/`` (``record_person.parquet``,
``people.parquet``, ``malformed_rows.parquet``, ``channel_effects.json``, ``world.json``). Deterministic
for the same arguments; streams people in chunks, so a million people fit in well under 2 GiB.
"""

from adplan.world.generate import WorldSummary, generate
from adplan.world.schema import CHANNELS, SOURCES

__all__ = ["CHANNELS", "SOURCES", "WorldSummary", "generate"]
