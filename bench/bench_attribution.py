"""Benchmark of the attribution engine on generated data: 10M touchpoints, ~1.5M people, 8 channels.

    .venv/bin/python bench/bench_attribution.py [--touchpoints 10000000] [--people 1500000]

Times the SQL steps on DuckDB (journeys, all six heuristic models together, paths, exposures, ROAS),
the numpy models on the aggregated paths (heuristics, Markov orders 1-3, Shapley), incrementality,
response curves and the allocator; reports peak memory (max RSS of this process, DuckDB included).
If a ChannelAttribution venv exists (``/tmp/ca``, see --ca-python) its simulated Markov model runs on
the same paths in a subprocess, and the largest difference in channel share is reported.
Figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import tempfile
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from adplan.attribution import (
    allocate_budget,
    build_journeys,
    channel_roas,
    exposures_from_journeys,
    fit_response_curves,
    heuristic_credits,
    heuristics,
    incrementality,
    markov,
    paths_from_frame,
    paths_from_journeys,
    shapley,
)

DS = "2024-03-31"
AS_OF = np.datetime64("2024-04-01T00:00:00", "s")
HISTORY_DAYS = 60
CHANNELS = np.array(["affiliate", "ctv", "direct", "display", "email", "search", "social", "video"])
CHANNEL_MIX = np.array([0.05, 0.05, 0.10, 0.30, 0.10, 0.15, 0.20, 0.05])
CLICK_RATE = np.array([0.5, 0.0, 1.0, 0.02, 0.3, 0.9, 0.1, 0.05])
CONVERSION_LIFT = np.array([0.2, 0.3, 0.6, 0.05, 0.3, 0.8, 0.3, 0.4])  # logit lift when exposed
CAMPAIGNS_PER_CHANNEL = 5

ROWS: list[tuple[str, float, float, str, str]] = []


@contextmanager
def step(name: str, target: str = "", note: str = ""):
    """Time a step: wall seconds, and CPU seconds of this process (all threads: DuckDB uses every
    core, so CPU can exceed wall; on a shared machine wall can far exceed CPU)."""
    start, start_cpu = time.perf_counter(), time.process_time()
    yield
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    ROWS.append((name, seconds, cpu, target, note))
    print(
        f"  {name:<46} {seconds:7.2f} s wall {cpu:7.2f} s CPU  peak RSS {peak_rss_gb():5.2f} GB", flush=True
    )


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux reports KiB


def generate(con: duckdb.DuckDBPyConnection, n_touchpoints: int, n_people: int, seed: int) -> dict[str, int]:
    """Touchpoints, conversions and spend tables on ``con``; exposure raises the odds of converting."""
    rng = np.random.default_rng(seed)
    person = np.sort(rng.integers(0, n_people, n_touchpoints))
    channel = rng.choice(len(CHANNELS), size=n_touchpoints, p=CHANNEL_MIX).astype(np.int32)
    seconds_back = rng.integers(0, HISTORY_DAYS * 86400, n_touchpoints)
    ts = AS_OF - seconds_back.astype("timedelta64[s]")
    is_click = rng.random(n_touchpoints) < CLICK_RATE[channel]
    campaign = channel * CAMPAIGNS_PER_CHANNEL + rng.integers(0, CAMPAIGNS_PER_CHANNEL, n_touchpoints)

    exposed = np.zeros((n_people, len(CHANNELS)), dtype=bool)
    exposed[person, channel] = True
    logit = -4.0 + exposed @ CONVERSION_LIFT
    converts = rng.random(n_people) < 1 / (1 + np.exp(-logit))
    touches_of = np.bincount(person, minlength=n_people)
    first_touch = np.concatenate([[0], np.cumsum(touches_of)[:-1]])
    converters = np.flatnonzero(converts & (touches_of > 0))
    # Each converter converts shortly after one of its touches (so some touches precede it).
    anchor = first_touch[converters] + (rng.random(len(converters)) * touches_of[converters]).astype(np.int64)
    delay = rng.exponential(12 * 3600, len(converters)).astype("timedelta64[s]")
    conversion_ts = np.minimum(ts[anchor] + delay, AS_OF - np.timedelta64(1, "s"))
    campaign_names = np.array(
        [f"{c}_{k}" for c in CHANNELS for k in range(CAMPAIGNS_PER_CHANNEL)], dtype=object
    )

    touchpoints = pa.table(
        {
            "person_id": person,
            "ts": pa.array(ts.astype("datetime64[us]"), type=pa.timestamp("us")),
            "channel": pa.DictionaryArray.from_arrays(channel, CHANNELS.astype(object)),
            "campaign_id": pa.DictionaryArray.from_arrays(campaign.astype(np.int32), campaign_names),
            "creative_id": pa.DictionaryArray.from_arrays(
                (campaign * 3 + rng.integers(0, 3, n_touchpoints)).astype(np.int32),
                np.array([f"{c}_cr{k}" for c in campaign_names for k in range(3)], dtype=object),
            ),
            "publisher_id": pa.DictionaryArray.from_arrays(
                rng.integers(0, 20, n_touchpoints).astype(np.int32),
                np.array([f"pub{k}" for k in range(20)], dtype=object),
            ),
            "event_type": pa.DictionaryArray.from_arrays(
                is_click.astype(np.int32), np.array(["impression", "click"], dtype=object)
            ),
        }
    )
    conversions = pa.table(
        {
            "person_id": converters,
            "ts": pa.array(conversion_ts.astype("datetime64[us]"), type=pa.timestamp("us")),
            "value": rng.gamma(2.0, 40.0, len(converters)),
        }
    )
    days = pd.date_range(end=DS, periods=HISTORY_DAYS).date
    spend = pd.DataFrame(
        {
            "date": np.repeat(days, len(campaign_names)),
            "campaign_id": np.tile(campaign_names, len(days)),
            "channel": np.tile(np.repeat(CHANNELS, CAMPAIGNS_PER_CHANNEL), len(days)),
            "publisher_id": "pub0",
            "spend": rng.gamma(4.0, 250.0, len(days) * len(campaign_names)),
        }
    )
    for name, table in {"touchpoints": touchpoints, "conversions": conversions, "spend": spend}.items():
        con.register(f"{name}_arrow", table)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")
        con.unregister(f"{name}_arrow")
    return {"touchpoints": n_touchpoints, "people": n_people, "conversions": len(converters)}


def daily_curve_points(seed: int, days: int = 90) -> pd.DataFrame:
    """Daily (spend, conversions) of the paid channels from known saturating curves, with noise.
    (The generated touchpoints do not respond to spend, so curves are fitted on these instead.)"""
    rng = np.random.default_rng(seed)
    frames = []
    for channel in CHANNELS[CHANNELS != "direct"]:
        saturation, scale = rng.uniform(50, 300), rng.uniform(500, 5000)
        spend = scale * rng.uniform(0.2, 2.0, days)
        conversions = saturation * -np.expm1(-spend / scale) * rng.lognormal(0, 0.1, days)
        frames.append(
            pd.DataFrame(
                {
                    "date": pd.date_range(end=DS, periods=days),
                    "channel": channel,
                    "spend": spend,
                    "conversions": conversions,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def channelattribution(
    ca_python: Path, paths: pd.DataFrame, orders: list[int], max_step: int | None, nsim: float
) -> dict[int, dict]:
    """ChannelAttribution's markov_model on the same paths, in its own venv (a subprocess)."""
    script = textwrap.dedent(
        """
        import json, sys, time
        import pandas as pd
        import ChannelAttribution as ca
        paths = pd.read_csv(sys.argv[1])
        out = {}
        for order in json.loads(sys.argv[2]):
            start = time.perf_counter()
            result = ca.markov_model(
                paths, "path", "total_conversions", var_value="total_conversion_value",
                var_null="total_null", order=order, max_step=json.loads(sys.argv[3]),
                nsim_start=float(sys.argv[4]), verbose=False, flg_pro=False, ncore=2,
            )
            result = result["result"] if isinstance(result, dict) else result
            out[order] = {
                "seconds": time.perf_counter() - start,
                "conversions": dict(zip(result["channel_name"], result["total_conversions"])),
            }
        print("CA_RESULT" + json.dumps(out))
        """
    )
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "paths.csv"  # the ChannelAttribution venv has no pyarrow
        paths.to_csv(file, index=False)
        done = subprocess.run(
            [str(ca_python), "-c", script, str(file), json.dumps(orders), json.dumps(max_step), str(nsim)],
            capture_output=True,
            text=True,
            check=True,
        )
    line = next(line for line in done.stdout.splitlines() if line.startswith("CA_RESULT"))
    return {int(k): v for k, v in json.loads(line.removeprefix("CA_RESULT")).items()}


def max_share_difference_pp(ours: pd.DataFrame, theirs: dict[str, float]) -> float:
    mine = ours.set_index("channel")["conversions"]
    other = pd.Series(theirs).reindex(mine.index).fillna(0)
    return float((mine / mine.sum() - other / other.sum()).abs().max() * 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touchpoints", type=int, default=10_000_000)
    parser.add_argument("--people", type=int, default=1_500_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bootstrap", type=int, default=20, help="bootstrap draws for incrementality")
    parser.add_argument("--ca-python", type=Path, default=Path("/tmp/ca/bin/python"))
    parser.add_argument("--ca-orders", default="1,2,3")
    parser.add_argument("--ca-max-step", type=int, default=None, help="ChannelAttribution max_step")
    parser.add_argument("--ca-nsim", type=float, default=1e5, help="ChannelAttribution nsim_start")
    args = parser.parse_args()

    print(f"attribution bench: {os.cpu_count()} cores, DuckDB {duckdb.__version__}, numpy {np.__version__}")
    con = duckdb.connect()
    with step("generate + load tables"):
        sizes = generate(con, args.touchpoints, args.people, args.seed)
    print(f"  data: {sizes}")

    with step("SQL journeys (windows, cut at conversions)"):
        build_journeys(con, "touchpoints", "conversions", DS, lookback_days=30, view_window_days=7)
    journey_rows = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE converted) FROM attribution_journeys"
    ).fetchall()[0]
    print(f"  journey touch rows: {journey_rows[0]:,} ({journey_rows[1]:,} in converting journeys)")
    with step("SQL heuristics, all 6 models", target="< 2 s"):
        credits = heuristic_credits(con, DS)
    with step("SQL aggregated paths"):
        path_frame = paths_from_journeys(con, DS)
    with step("parse paths (pyarrow)", note=f"{len(path_frame):,} distinct paths"):
        paths = paths_from_frame(path_frame)
    with step("numpy heuristics on paths, all 6 models"):
        heuristics(paths)
    markov_results = {}
    for order in (1, 2, 3):
        with step(f"Markov order {order} (exact)", target="< 1 s" if order == 1 else ""):
            markov_results[order] = markov(paths, order)
    with step("Shapley (exact, 2^8 coalitions)"):
        shapley(paths)
    with step("SQL exposures per journey + pivot"):
        exposures = exposures_from_journeys(con, DS)
    with step(
        f"incrementality (logit, {args.bootstrap} bootstrap draws)", note=f"{len(exposures):,} journeys"
    ):
        incrementality(exposures, list(CHANNELS), n_bootstrap=args.bootstrap)
    con.register("bench_credits", credits)
    with step("SQL ROAS / CPA"):
        channel_roas(con, DS, "bench_credits", "spend")
    with step("response curves (7 ch x 90 d, 200 bootstraps)"):
        curves = fit_response_curves(daily_curve_points(args.seed), n_bootstrap=200)
    with step("allocate budget (bounds, bootstrap interval)"):
        plan = allocate_budget(curves, 150_000.0, flight_days=14, max_spend={"ctv": 20_000.0})
    print(
        f"  plan: {plan.expected_conversions:,.0f} conversions "
        f"[{plan.expected_conversions_lo:,.0f}, {plan.expected_conversions_hi:,.0f}] "
        f"vs equal split {plan.equal_split_conversions:,.0f}"
    )

    agreement = []
    if args.ca_python.exists():
        orders = [int(o) for o in args.ca_orders.split(",") if o]
        print(
            f"ChannelAttribution ({args.ca_python}), orders {orders}, max_step={args.ca_max_step}, nsim_start={args.ca_nsim:g} ...",
            flush=True,
        )
        start = time.perf_counter()
        theirs = channelattribution(args.ca_python, path_frame, orders, args.ca_max_step, args.ca_nsim)
        print(f"  done in {time.perf_counter() - start:.1f} s")
        for order, result in theirs.items():
            difference = max_share_difference_pp(markov_results[order], result["conversions"])
            agreement.append((order, difference, result["seconds"]))
    else:
        print(f"ChannelAttribution comparison skipped: no {args.ca_python} (see bench docstring)")

    print()
    print(f"{'step':<48} {'wall s':>7} {'CPU s':>7}  {'target':<8} note")
    print("-" * 100)
    for name, seconds, cpu, target, note in ROWS:
        print(f"{name:<48} {seconds:7.2f} {cpu:7.2f}  {target:<8} {note}")
    print("-" * 100)
    load = os.getloadavg()
    print(
        f"load average at the end (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores"
    )
    print(f"peak memory (max RSS, process incl. DuckDB): {peak_rss_gb():.2f} GB")
    for order, difference, seconds in agreement:
        print(
            f"Markov order {order} vs ChannelAttribution (simulated, {seconds:.1f} s): "
            f"max |channel share difference| = {difference:.2f} pp"
        )


if __name__ == "__main__":
    main()
