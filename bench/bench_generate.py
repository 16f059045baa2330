"""Benchmark of the synthetic world generator: 1M people and ~45M ad events, within 2 GiB.

    .venv/bin/python bench/bench_generate.py                    # 1,000,000 people
    .venv/bin/python bench/bench_generate.py --people 200000 --keep

Runs ``adplan.world.generate`` into a temporary folder and prints the wall time, the CPU time, the peak
memory (the largest RSS a sampling thread saw every 50 ms, and the kernel's ru_maxrss), and rows and
compressed bytes per source. The target is 1M people within 2 GiB peak RSS. Figures depend on the
machine and on what else runs on it (the CPU time is the fairer figure on a shared machine).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import psutil

from adplan.world import generate
from adplan.world.generate import CHUNK_PEOPLE

TARGET_RSS_BYTES = 2 * 1024**3


class PeakMemory:
    """The largest resident set size of this process, sampled on a background thread."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _sample(self) -> None:
        self.peak = max(self.peak, self._process.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 28))
    parser.add_argument("--chunk-people", type=int, default=CHUNK_PEOPLE)
    parser.add_argument("--out", type=Path, default=None, help="write here instead of a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print its path")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="adplan-bench-world-"))
    done = [0]

    def progress(count: int) -> None:
        done[0] += count
        print(f"\r  {done[0]:>12,} / {args.people:,} people", end="", file=sys.stderr, flush=True)

    print(
        f"generating {args.people:,} people x {args.days} days (chunks of {args.chunk_people:,}) into {out}"
    )
    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    try:
        with PeakMemory() as memory:
            summary = generate(
                out, args.people, days=args.days, seed=args.seed, as_of=args.as_of,
                progress=progress, chunk_people=args.chunk_people,
            )  # fmt: skip
        wall = time.perf_counter() - wall_start
        cpu = time.process_time() - cpu_start
        print(file=sys.stderr)
        _report(summary, wall, cpu, memory.peak, args.people)
    finally:
        if args.keep or args.out:
            print(f"output kept in {out}")
        else:
            shutil.rmtree(out, ignore_errors=True)


def _report(summary, wall: float, cpu: float, peak_rss: int, people: int) -> None:
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    rows = sum(summary.rows.values())
    print(f"wall time      {wall:10.1f} s   ({people / wall:,.0f} people/s, {rows / wall:,.0f} rows/s)")
    print(f"CPU time       {cpu:10.1f} s   (all threads; {cpu / wall:.2f} cores busy on average)")
    print(f"peak RSS       {peak_rss / 2**20:10.0f} MiB (sampled)   ru_maxrss {max_rss / 2**20:,.0f} MiB")
    verdict = "within" if max(peak_rss, max_rss) <= TARGET_RSS_BYTES else "OVER"
    print(f"target         {verdict} 2 GiB")
    print(f"ad events      {summary.ad_events:,} ({summary.ad_events / people:.1f} per person)")
    print(f"\n{'source':<20} {'rows':>13} {'malformed':>10} {'files':>6} {'MiB (gzip)':>11}")
    for source, count in summary.rows.items():
        print(
            f"{source:<20} {count:>13,} {summary.malformed[source]:>10,} {len(summary.files[source]):>6} "
            f"{summary.bytes[source] / 2**20:>11.1f}"
        )
    print(
        f"{'total':<20} {rows:>13,} {sum(summary.malformed.values()):>10,} {'':>6} {sum(summary.bytes.values()) / 2**20:>11.1f}"
    )
    print("\nworld:")
    for name, value in summary.stats.items():
        print(f"  {name:<34} {value:,}")


if __name__ == "__main__":
    main()
