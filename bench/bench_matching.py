"""Benchmark of identity resolution: rule matching, ML matching, and Splink configured by hand.

For each world size, the data is made once (cached under --work) and every method then runs in a
fresh Python process of its own, so time and peak memory are each method's alone:

- ``rules``: the project's RULE_MATCHING workflow (include/config/entity_resolution) in SQL on DuckDB;
- ``ml``: the project's ML_MATCHING workflow, Splink configured from the schema mappings;
- ``baseline``: plain Splink the way a typical user configures it by hand: a few comparisons, loose
  blocking, threshold 0.9, ``cluster_pairwise_predictions_at_threshold``.

Data: ``--source world`` generates the agency world (``adplan.world.generate``), runs the hygiene
stage on it (``adplan.hygiene.run_source``) and builds the ad-device and cookie inputs
(``sql/identity/ad_identifiers.sql``), so matching reads the same curated tables as the DAG.
``--source synthetic`` uses ``adplan.matching.synthetic`` (FEBRL-style CRM records with duplicates and
a hashed publisher audience), much faster to make at a million people.

Figures: wall time per phase, peak resident memory (psutil, sampled every 20 ms), and pairwise and
cluster precision / recall / F1 against the generator's ground truth.

    .venv/bin/python bench/bench_matching.py --people 100000 1000000 --source synthetic
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import psutil

AS_OF = date(2026, 1, 5)
DT = AS_OF.isoformat()
WORLD_SOURCES = ("crm_customers", "orders", "publisher_audience", "identity_events")
SYNTHETIC_INPUTS = {"curated_crm_customers": "crm.parquet", "curated_publisher_audience": "publisher.parquet"}
METHODS = ("rules", "ml", "baseline")


# ---------------------------------------------------------------------------------------------
# Data


def make_world(work: Path, people: int, seed: int) -> dict[str, Any]:
    """Generate the world, curate it, build the ad identifiers; returns how long each step took."""
    from adplan import sqlfiles
    from adplan.hygiene import run_source
    from adplan.lake import Lake
    from adplan.world import generate

    timings: dict[str, Any] = {}
    started = time.perf_counter()
    generate(work, people, days=7, seed=seed, as_of=AS_OF)
    timings["generate_s"] = round(time.perf_counter() - started, 1)
    lake = Lake(work / "lake")
    started = time.perf_counter()
    for source in WORLD_SOURCES:
        run_source(lake, source, DT)
    timings["hygiene_s"] = round(time.perf_counter() - started, 1)
    import duckdb

    con = duckdb.connect()
    events = lake.partition_file("curated", "curated_identity_events", DT)
    con.execute(
        f"CREATE VIEW curated_identity_events AS SELECT *, '{DT}' AS dt "
        f"FROM read_parquet('{events}', hive_partitioning = false)"
    )
    for id_column, table in (("device_id", "curated_ad_devices"), ("cookie_id", "curated_ad_cookies")):
        query = sqlfiles.render_duckdb("identity/ad_identifiers.sql", DT, {"id_column": id_column})
        lake.write_partition("curated", table, DT, query, con)
    return timings


def make_synthetic(work: Path, people: int, seed: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from adplan.matching import synthetic

    started = time.perf_counter()
    world = synthetic.generate(people, seed=seed)
    work.mkdir(parents=True, exist_ok=True)
    pq.write_table(world.crm, work / "crm.parquet")
    pq.write_table(world.publisher, work / "publisher.parquet")
    (work / "ground_truth").mkdir(exist_ok=True)
    pq.write_table(world.truth, work / "ground_truth" / "record_person.parquet")
    return {"generate_s": round(time.perf_counter() - started, 1)}


def prepare_data(work: Path, people: int, source: str, seed: int) -> dict[str, Any]:
    marker = work / "ready.json"
    if marker.is_file():
        return json.loads(marker.read_text())
    timings = make_world(work, people, seed) if source == "world" else make_synthetic(work, people, seed)
    marker.write_text(json.dumps(timings))
    return timings


def input_relations(work: Path, source: str, workflow) -> dict[str, str]:
    if source == "world":
        from adplan.matching.inputs import lake_relation

        return {s.name: lake_relation(work / "lake", s.name, DT) for s in workflow.inputs}
    return {name: f"read_parquet('{work / file}')" for name, file in SYNTHETIC_INPUTS.items()}


def project_workflow(name: str, source: str):
    """The project's workflow; for synthetic data only the inputs it has (CRM and publisher)."""
    from adplan.matching.config import default_config_dir, load_matching_workflow, load_schema_mapping

    config = default_config_dir()
    document = json.loads((config / "workflows" / f"{name}.json").read_text())
    if source == "synthetic":
        document["inputSourceConfig"] = [
            entry for entry in document["inputSourceConfig"] if entry["inputSourceARN"] in SYNTHETIC_INPUTS
        ]
    mappings = [load_schema_mapping(path) for path in sorted((config / "schema_mappings").glob("*.json"))]
    return load_matching_workflow(document, mappings)


# ---------------------------------------------------------------------------------------------
# One method, in its own process


class PeakMemory:
    """Peak resident memory of this process, sampled on a thread."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def warm_imports() -> None:
    # Imports are not matching: load what the methods import before the clock starts.
    import pandas  # noqa: F401
    import splink
    import splink.comparison_library  # noqa: F401
    from splink import DuckDBAPI  # noqa: F401

    import adplan.matching.probabilistic  # noqa: F401


def run_project_method(method: str, work: Path, source: str, truth: str) -> dict[str, Any]:
    from adplan.matching.engine import run_matching

    workflow = project_workflow("identity_rules" if method == "rules" else "identity_ml", source)
    relations = input_relations(work, source, workflow)
    with PeakMemory() as memory:
        started = time.perf_counter()
        run = run_matching(workflow, relations)
        elapsed = time.perf_counter() - started
    report = run.quality(truth)
    return {
        "records": report.records,
        "seconds": round(elapsed, 2),
        "phases_s": {name: round(value, 2) for name, value in run.timings.items()},
        "peak_rss_gib": round(memory.peak / 2**30, 2),
        "largest_cluster": report.largest_cluster,
        "pairwise": report.pairwise.__dict__,
        "cluster": report.cluster.__dict__,
        "figures": {
            k: v
            for k, v in run.figures.items()
            if k in ("links", "predictions", "oversize_split_at", "dropped_blocking_rules")
        },
    }


BASELINE_COLUMNS = ("first_name", "last_name", "email_sha256", "phone_sha256", "postal_code", "date_of_birth")


def baseline_input_sql(work: Path, source: str) -> str:
    """One table of every input with the columns it has, as a user would stack them by hand."""
    if source == "synthetic":
        tables = {
            "crm_customers": (work / "crm.parquet", "customer_id"),
            "publisher_audience": (work / "publisher.parquet", "audience_record_id"),
        }
    else:
        lake = work / "lake" / "curated"
        tables = {
            name: (lake / f"curated_{name}" / f"dt={DT}" / "data.parquet", key)
            for name, key in (
                ("crm_customers", "customer_id"),
                ("orders", "order_id"),
                ("publisher_audience", "audience_record_id"),
                ("ad_devices", "device_id"),
                ("ad_cookies", "cookie_id"),
            )
        }
    import duckdb

    parts = []
    for name, (path, key) in tables.items():
        relation = f"read_parquet('{path}', hive_partitioning = false)"
        present = set(duckdb.sql(f"SELECT * FROM {relation}").columns)
        columns = [
            (f"CAST({column} AS DATE)" if column == "date_of_birth" else column)
            if column in present
            else ("NULL::DATE" if column == "date_of_birth" else "NULL::VARCHAR")
            for column in BASELINE_COLUMNS
        ]
        selects = ", ".join(
            f"{value} AS {column}" for value, column in zip(columns, BASELINE_COLUMNS, strict=True)
        )
        parts.append(
            f"SELECT '{name}' AS source, CAST({key} AS VARCHAR) AS record_id, {selects} FROM {relation}"
        )
    return " UNION ALL ".join(parts)


def run_baseline(work: Path, source: str, truth: str) -> dict[str, Any]:
    """Splink as configured by hand: a few comparisons, loose blocking, 0.9, connected components."""
    import logging

    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from adplan.matching.quality import quality_report

    con = duckdb.connect()
    with PeakMemory() as memory:
        started = time.perf_counter()
        con.execute(
            f"CREATE TABLE people AS SELECT row_number() OVER () AS unique_id, * FROM ({baseline_input_sql(work, source)})"
        )
        settings = SettingsCreator(
            link_type="dedupe_only",
            comparisons=[
                cl.NameComparison("first_name"),
                cl.NameComparison("last_name"),
                cl.ExactMatch("email_sha256"),
                cl.ExactMatch("phone_sha256"),
                cl.DateOfBirthComparison("date_of_birth", input_is_string=False),
                cl.ExactMatch("postal_code"),
            ],
            blocking_rules_to_generate_predictions=[
                block_on("email_sha256"),
                block_on("phone_sha256"),
                block_on("last_name", "postal_code"),
                block_on("first_name", "date_of_birth"),
            ],
        )
        db_api = DuckDBAPI(connection=con)
        linker = Linker(db_api.register("people"), settings, log_level=logging.WARNING)
        linker.training.estimate_probability_two_random_records_match(
            [block_on("first_name", "last_name", "date_of_birth"), block_on("email_sha256")], recall=0.7
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("email_sha256"))
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("date_of_birth"), max_pairs=1e6
        )
        trained = time.perf_counter()
        predictions = linker.inference.predict(threshold_match_probability=0.9)
        predicted = time.perf_counter()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.9)
        done = time.perf_counter()
    predicted_sql = f"SELECT source, record_id, cluster_id AS cluster FROM {clusters.physical_name}"
    report = quality_report(con, predicted_sql, truth)
    return {
        "records": report.records,
        "seconds": round(done - started, 2),
        "phases_s": {
            "train": round(trained - started, 2),
            "predict": round(predicted - trained, 2),
            "cluster": round(done - predicted, 2),
        },
        "peak_rss_gib": round(memory.peak / 2**30, 2),
        "largest_cluster": report.largest_cluster,
        "pairwise": report.pairwise.__dict__,
        "cluster": report.cluster.__dict__,
    }


def run_one(method: str, work: Path, source: str) -> dict[str, Any]:
    warm_imports()
    truth = f"SELECT * FROM read_parquet('{work / 'ground_truth' / 'record_person.parquet'}')"
    if method == "baseline":
        return run_baseline(work, source, truth)
    return run_project_method(method, work, source, truth)


# ---------------------------------------------------------------------------------------------
# Driver


def run_in_child(method: str, work: Path, source: str, timeout: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--one", method, "--work", str(work), "--source", source]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def print_table(people: int, results: dict[str, dict[str, Any]]) -> None:
    print(f"\n== {people:,} people ==")
    print(
        f"{'method':9} {'records':>10} {'seconds':>8} {'peak GiB':>9} {'largest':>8}  "
        f"{'pair P':>7} {'pair R':>7} {'pair F1':>7}  {'clus P':>7} {'clus R':>7} {'clus F1':>7}  phases"
    )
    for method, result in results.items():
        if "error" in result:
            print(f"{method:9} ERROR {result['error']}")
            continue
        pair, cluster = result["pairwise"], result["cluster"]
        print(
            f"{method:9} {result['records']:>10,} {result['seconds']:>8.1f} {result['peak_rss_gib']:>9.2f} "
            f"{result['largest_cluster']:>8,}  {pair['precision']:>7.4f} {pair['recall']:>7.4f} {pair['f1']:>7.4f}  "
            f"{cluster['precision']:>7.4f} {cluster['recall']:>7.4f} {cluster['f1']:>7.4f}  {result['phases_s']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100_000])
    parser.add_argument("--source", choices=("world", "synthetic"), default="synthetic")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument(
        "--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "adplan-bench-matching"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--one", choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.work, args.source)))
        return
    print(f"cpus={psutil.cpu_count()} source={args.source} methods={args.methods}")
    for people in args.people:
        work = args.work / f"{args.source}-{people}-{args.seed}"
        data = prepare_data(work, people, args.source, args.seed)
        print(f"\ndata for {people:,} people: {data} ({work})")
        results = {method: run_in_child(method, work, args.source, args.timeout) for method in args.methods}
        print_table(people, results)
        print(json.dumps({"people": people, "source": args.source, "data": data, "results": results}))


if __name__ == "__main__":
    main()
