"""``adplan attribute`` on small files with hand-checkable credits, and its errors (no tracebacks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from adplan.attribution.cli import attribute

PATHS_CSV = """path,total_conversions,total_conversion_value,total_null
search > display > email,3,300,5
display,2,100,10
email > search,1,50,2
social,0,0,7
"""
TOUCHPOINTS_CSV = """person_id,ts,channel,campaign_id,event_type
p1,2024-01-01 10:00,search,s1,impression
p1,2024-01-02 10:00,display,d1,click
p2,2024-01-03 10:00,display,d1,impression
p3,2024-01-04 10:00,social,so1,impression
p2,2024-01-06 10:00,email,,click
"""
CONVERSIONS_CSV = """person_id,ts,value
p1,2024-01-03 09:00,100
p2,2024-01-05 09:00,50
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def invoke(*args: str):
    return CliRunner().invoke(attribute, [str(arg) for arg in args])


def credits_of(output_csv: Path) -> dict[tuple[str, str], tuple[float, float]]:
    frame = pd.read_csv(output_csv)
    assert list(frame.columns) == ["channel", "model", "conversions", "value"]
    return {(r.model, r.channel): (r.conversions, r.value) for r in frame.itertuples()}


def test_help():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "--touchpoints" in result.output


def test_paths_file_gives_hand_checked_credits(tmp_path):
    paths = write(tmp_path, "paths.csv", PATHS_CSV)
    out = tmp_path / "out" / "credits.csv"
    result = invoke(paths, "--out", out)
    assert result.exit_code == 0, result.output
    credits = credits_of(out)
    # last touch: email ends 3 conversions (300), display 2 (100), search 1 (50); social never converts
    assert credits[("last_touch", "email")] == (3, 300)
    assert credits[("last_touch", "display")] == (2, 100)
    assert credits[("last_touch", "search")] == (1, 50)
    assert credits[("last_touch", "social")] == (0, 0)
    assert credits[("first_touch", "search")] == (3, 300)
    assert credits[("linear", "display")] == pytest.approx((3, 200))
    assert credits[("linear", "search")] == pytest.approx((1.5, 125))
    models = {model for model, _ in credits}
    assert models == {
        "first_touch",
        "last_touch",
        "last_non_direct_click",
        "linear",
        "position_based",
        "time_decay",
        "markov_1",
        "markov_2",
        "markov_3",
        "shapley",
    }
    for model in models:
        total = sum(c for (m, _), (c, _) in credits.items() if m == model)
        assert total == pytest.approx(6), model


def test_paths_option_model_selection_and_printed_table(tmp_path):
    paths = write(tmp_path, "paths.csv", PATHS_CSV)
    result = invoke("--paths", paths, "--model", "last_touch, markov1,last_non_direct")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["channel", "model", "conversions", "value"]
    rows = [line.split() for line in lines[1:]]
    assert {row[1] for row in rows} == {"last_touch", "last_non_direct_click", "markov_1"}
    assert ["email", "last_touch", "3.0000", "300.0000"] in rows


def test_touchpoint_files_build_journeys(tmp_path):
    touchpoints = write(tmp_path, "touchpoints.csv", TOUCHPOINTS_CSV)
    conversions = write(tmp_path, "conversions.csv", CONVERSIONS_CSV)
    out = tmp_path / "credits.csv"
    result = invoke("--touchpoints", touchpoints, "--conversions", conversions, "--out", out)
    assert result.exit_code == 0, result.output
    credits = credits_of(out)
    # p1: search then a display click before its conversion (100); p2: display before its conversion
    # (50), its email click comes after it. p3 never converts.
    assert credits[("last_touch", "display")] == (2, 150)
    assert ("last_touch", "search") not in credits or credits[("last_touch", "search")] == (0, 0)
    assert credits[("first_touch", "search")] == (1, 100)
    assert credits[("first_touch", "display")] == (1, 50)
    assert credits[("linear", "search")] == pytest.approx((0.5, 50))
    assert credits[("linear", "display")] == pytest.approx((1.5, 100))
    for model in {m for m, _ in credits}:
        assert sum(c for (m, _), (c, _) in credits.items() if m == model) == pytest.approx(2), model


def test_touchpoints_as_parquet_and_a_short_lookback(tmp_path):
    touches = pd.read_csv(pd.io.common.StringIO(TOUCHPOINTS_CSV))
    touches["ts"] = pd.to_datetime(touches["ts"])
    touchpoints = tmp_path / "touchpoints.parquet"
    touches.to_parquet(touchpoints)
    conversions = write(tmp_path, "conversions.csv", CONVERSIONS_CSV)
    out = tmp_path / "credits.csv"
    result = invoke(
        "--touchpoints", touchpoints, "--conversions", conversions, "--model", "first_touch",
        "--lookback-days", "1", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # within a day of its conversion p1 has only its display click; p2's impression is two days old
    assert credits_of(out) == {("first_touch", "display"): (1, 100)}


def test_incrementality_on_touchpoints(tmp_path):
    rng = np.random.default_rng(3)
    channels = ["search", "social", "display"]
    lift = {"search": 0.15, "social": 0.05, "display": 0.0}
    touches, orders = [], []
    for person in range(800):
        exposed = [c for c in channels if rng.random() < 0.5]
        for day, channel in enumerate(exposed):
            touches.append((f"p{person}", f"2024-01-0{day + 1} 12:00", channel))
        if rng.random() < 0.05 + sum(lift[c] for c in exposed):
            orders.append((f"p{person}", "2024-01-09 12:00", 20.0))
    touchpoints = tmp_path / "t.csv"
    pd.DataFrame(touches, columns=["person_id", "ts", "channel"]).to_csv(touchpoints, index=False)
    conversions = tmp_path / "c.csv"
    pd.DataFrame(orders, columns=["person_id", "ts", "value"]).to_csv(conversions, index=False)
    out = tmp_path / "credits.csv"
    result = invoke(
        "--touchpoints", touchpoints, "--conversions", conversions, "--model", "incrementality,linear",
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    credits = credits_of(out)
    assert {m for m, _ in credits} == {"linear", "incrementality"}
    incremental = {c: credits[("incrementality", c)][0] for c in channels}
    assert incremental["search"] > incremental["social"] > incremental["display"] - 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("route,total_conversions\na > b,1\n", ["paths.csv", "missing column path"]),
        ("path,conversions\na > b,1\n", ["paths.csv", "missing column total_conversions"]),
        ("path,total_conversions\na > b,1\nb,abc\n", ["paths.csv", "total_conversions", "'abc'", "line 3"]),
        ("path,total_conversions,total_null\na,1,-2\n", ["total_null", "negative", "line 2"]),
        ("path,total_conversions\n,0\n", ["no path with conversions"]),
    ],
)
def test_bad_paths_files_name_the_file_and_column(tmp_path, text, expected):
    result = invoke(write(tmp_path, "paths.csv", text))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    for fragment in expected:
        assert fragment in result.output


@pytest.mark.parametrize(
    ("touchpoints", "conversions", "expected"),
    [
        ("person_id,ts\np1,2024-01-01\n", CONVERSIONS_CSV, ["touchpoints.csv", "missing column channel"]),
        (TOUCHPOINTS_CSV.replace("2024-01-02 10:00", "yesterday"), CONVERSIONS_CSV,
         ["touchpoints.csv", "column ts", "'yesterday'", "line 3"]),
        (TOUCHPOINTS_CSV.replace(",click\n", ",view\n", 1), CONVERSIONS_CSV,
         ["touchpoints.csv", "column event_type", "'view'"]),
        (TOUCHPOINTS_CSV, "person_id,ts,value\np1,2024-01-03,lots\n", ["conversions.csv", "column value", "'lots'"]),
        (TOUCHPOINTS_CSV, "person_id,when\np1,2024-01-03\n", ["conversions.csv", "missing column ts"]),
        (TOUCHPOINTS_CSV, "person_id,ts\n,2024-01-03\n", ["conversions.csv", "column person_id", "empty"]),
    ],
)  # fmt: skip
def test_bad_touchpoint_files_name_the_file_and_column(tmp_path, touchpoints, conversions, expected):
    result = invoke(
        "--touchpoints", write(tmp_path, "touchpoints.csv", touchpoints),
        "--conversions", write(tmp_path, "conversions.csv", conversions),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for fragment in expected:
        assert fragment in result.output


def test_unreadable_and_missing_files(tmp_path):
    garbage = tmp_path / "touchpoints.parquet"
    garbage.write_bytes(b"not parquet at all")
    conversions = write(tmp_path, "conversions.csv", CONVERSIONS_CSV)
    result = invoke("--touchpoints", garbage, "--conversions", conversions)
    assert result.exit_code == 1
    assert "touchpoints.parquet: cannot read as Parquet" in result.output
    result = invoke(tmp_path / "nowhere.csv")
    assert result.exit_code == 1
    assert "nowhere.csv: no such file" in result.output
    result = invoke(
        "--touchpoints", write(tmp_path, "t.csv", TOUCHPOINTS_CSV.replace("2024-01", "2023-06")),
        "--conversions", conversions, "--lookback-days", "3",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "no conversion has a touchpoint" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "give a paths file"),
        (["--touchpoints", "PATHS"], "both --touchpoints and --conversions"),
        (["PATHS", "--model", "linear,nope"], "unknown model 'nope'"),
        (["PATHS", "--model", "incrementality"], "incrementality needs"),
        (["PATHS", "--touchpoints", "PATHS", "--conversions", "PATHS"], "not both"),
        (["PATHS", "--paths", "PATHS"], "once"),
    ],
)
def test_usage_errors(tmp_path, args, expected):
    paths = write(tmp_path, "paths.csv", PATHS_CSV)
    result = invoke(*[paths if arg == "PATHS" else arg for arg in args])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
