"""Benchmark of the audience stage: synthetic people -> profiles -> segments -> lookalikes -> exports.

A synthetic world (adplan.audiences.synthetic: BG/NBD purchases, Gamma-Gamma spend, ad exposures, publisher
audience) is written to a temporary lake as curated partitions, then the audience jobs run on it exactly as
a task would (Warehouse.from_settings() on a private ADPLAN_HOME). Each stage prints its wall time and the
process's peak resident memory during the stage (sampled every 50 ms).

    .venv/bin/python bench/bench_audiences.py                  # 1,000,000 people
    .venv/bin/python bench/bench_audiences.py --people 100000 --keep

Figures depend on the machine and on what else runs on it; note the core count with the results.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

DS = "2026-11-28"


class PeakMemory:
    """Peak RSS of this process while the block runs (a sampling thread; psutil)."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakMemory:
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


@contextmanager
def stage(name: str, results: list[tuple[str, float, float, str]], note: str = ""):
    details: dict[str, str] = {"note": note}
    start = time.perf_counter()
    with PeakMemory() as memory:
        yield details
    seconds = time.perf_counter() - start
    results.append((name, seconds, memory.peak / 2**20, details["note"]))
    print(
        f"  {name:<22} {seconds:8.1f} s   peak RSS {memory.peak / 2**20:7.0f} MB   {details['note']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary ADPLAN_HOME")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="adplan-bench-audiences-"))
    os.environ["ADPLAN_HOME"] = str(home)
    import duckdb

    from adplan.audiences import jobs, synthetic
    from adplan.lake import Lake
    from adplan.settings import get_settings

    get_settings.cache_clear()
    print(f"audience benchmark: {args.people:,} people, {os.cpu_count()} cores, home {home}")
    results: list[tuple[str, float, float, str]] = []
    try:
        with stage("world (numpy+duckdb)", results) as details:
            con = duckdb.connect()
            synthetic.build_world(con, args.people, DS, seed=args.seed)
            rows = {
                table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
                for table in synthetic.TABLES
            }
            synthetic.write_world(con, Lake(home / "lake"), DS)
            con.close()
            details["note"] = ", ".join(f"{table} {count:,}" for table, count in rows.items())
        with stage("build_profiles", results) as details:
            summary = jobs.build_profiles(DS)
            details["note"] = (
                f"{summary['profiles']:,} profiles, {summary['customers']:,} customers; "
                f"BG/NBD {_rounded(summary['bgnbd'])}; Gamma-Gamma {_rounded(summary['gamma_gamma'])}"
            )
        with stage("build_segments", results) as details:
            summary = jobs.build_segments(DS)
            clusters = summary["clusters"] or {}
            details["note"] = (
                f"{summary['segments']} segments, {summary['memberships']:,} memberships, k={clusters.get('k')}"
            )
        with stage("score_lookalikes", results) as details:
            summary = jobs.score_lookalikes(DS)
            seed = next(iter(summary["seeds"].values()))
            details["note"] = (
                f"{seed['training_rows']:,} training rows ({seed['seeds']:,} seeds), {seed['candidates']:,} scored, "
                f"holdout AUC {seed['holdout_auc']}"
            )
        with stage("export_activation", results) as details:
            summary = jobs.export_activation(DS)
            details["note"] = (
                f"{summary['exports']} exports, {summary['files']} files, {summary['rows']:,} rows"
            )
        total = sum(seconds for _, seconds, _, _ in results)
        print(f"  {'total':<22} {total:8.1f} s   peak RSS {max(peak for _, _, peak, _ in results):7.0f} MB")
    finally:
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def _rounded(params: dict[str, float] | None) -> str:
    if not params:
        return "not fitted"
    return ", ".join(f"{name}={value:.3g}" for name, value in params.items())


if __name__ == "__main__":
    main()
