"""Reading ChannelAttribution-style aggregated paths."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adplan.attribution import paths_from_csv, paths_from_frame


def test_paths_from_csv_encodes_channels_in_order(tmp_path):
    csv = tmp_path / "paths.csv"
    csv.write_text(
        "path,total_conversions,total_conversion_value,total_null\n"
        "c > a > b,2,20.5,1\n"
        "b,0,0,4\n"
        "a>a,1,3,0\n"
        ",5,5,5\n"  # an empty path carries no channel: dropped
        "d,0,0,0\n"  # no journeys: dropped
    )
    paths = paths_from_csv(csv)
    assert list(paths.channels) == ["a", "b", "c"]
    assert paths.n_paths == 3
    assert paths.codes.tolist() == [2, 0, 1, 1, 0, 0]
    assert paths.offsets.tolist() == [0, 3, 4, 6]
    assert paths.conversions.tolist() == [2, 0, 1]
    assert paths.nulls.tolist() == [1, 4, 0]
    assert paths.to_frame()["path"].tolist() == ["c > a > b", "b", "a > a"]


def test_missing_value_and_null_columns_count_as_zero_and_stray_separators_are_ignored():
    paths = paths_from_frame(pd.DataFrame({"path": ["x > > y >"], "total_conversions": [3]}))
    assert paths.to_frame()["path"].tolist() == ["x > y"]
    assert np.array_equal(paths.value, [0.0])
    assert np.array_equal(paths.nulls, [0.0])
