"""``adplan attribute``: attribution models on files, without the lake.

Two kinds of input:

* aggregated paths, as ChannelAttribution takes them (``adplan attribute paths.csv`` or ``--paths``):
  a CSV with ``path`` (``a > b > c``), ``total_conversions`` and optionally ``total_conversion_value``
  and ``total_null``. Paths carry neither timestamps nor event types, so time decay halves a touch's
  weight per step before the conversion and last non-direct click is the last non-direct touch.
* touchpoints and conversions (``--touchpoints`` CSV/Parquet with person_id, ts, channel and optionally
  campaign_id, event_type (impression or click); ``--conversions`` with person_id, ts and optionally
  value): journeys are built as in the ``media_attribution`` DAG (``sql/attribution/journeys.sql``),
  with ``--lookback-days`` and the click and view windows. ``incrementality`` (when named in
  ``--model``) fits the incrementality model on the people's exposures.

Writes channel, model, conversions, value as CSV (``--out``) or prints them as a table. The lead adds
the command to the ``adplan`` group (``main.add_command(attribute)``).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click
import pandas as pd

OUTPUT_COLUMNS = ["channel", "model", "conversions", "value"]
PATH_COLUMNS = ("path", "total_conversions")
PATH_NUMERIC = ("total_conversions", "total_conversion_value", "total_null")
TOUCHPOINT_COLUMNS = ("person_id", "ts", "channel")
CONVERSION_COLUMNS = ("person_id", "ts")
EVENT_TYPES = ("impression", "click")


@click.command("attribute")
@click.argument(
    "paths_file", required=False, type=click.Path(dir_okay=False, path_type=Path), metavar="[PATHS]"
)
@click.option(
    "--paths",
    "paths_option",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Aggregated paths CSV: path ('a > b > c'), total_conversions[, total_conversion_value, total_null].",
)
@click.option(
    "--touchpoints",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Touchpoints CSV or Parquet: person_id, ts, channel[, campaign_id, event_type].",
)
@click.option(
    "--conversions",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Conversions CSV or Parquet: person_id, ts[, value] (with --touchpoints).",
)
@click.option(
    "--model",
    "models",
    default="all",
    show_default=True,
    help="Comma-separated: first_touch, last_touch, last_non_direct, linear, position_based, time_decay, "
    "markov1, markov2, markov3, shapley (all: these ten); incrementality with --touchpoints.",
)
@click.option("--lookback-days", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--click-window-days", type=click.IntRange(min=0), default=None, help="Default: lookback.")
@click.option("--view-window-days", type=click.IntRange(min=0), default=None, help="Default: lookback.")
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Touchpoint mode: the last day of the analysis (default: the day of the latest event); "
    "every conversion in the files up to it is attributed.",
)
@click.option("--separator", default=">", show_default=True, help="Channel separator inside a path.")
@click.option(
    "--direct-channel", default="direct", show_default=True, help="The channel last-non-direct skips."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the credits as CSV here instead of printing a table.",
)
def attribute(
    paths_file: Path | None,
    paths_option: Path | None,
    touchpoints: Path | None,
    conversions: Path | None,
    models: str,
    lookback_days: int,
    click_window_days: int | None,
    view_window_days: int | None,
    as_of: datetime | None,
    separator: str,
    direct_channel: str,
    out: Path | None,
) -> None:
    """Attribute conversions to channels from aggregated paths or from touchpoint files."""
    if paths_file and paths_option:
        raise click.UsageError("give the paths file once: as PATHS or with --paths")
    paths = paths_file or paths_option
    if paths and (touchpoints or conversions):
        raise click.UsageError("give either a paths file or --touchpoints and --conversions, not both")
    if not paths and not (touchpoints and conversions):
        raise click.UsageError("give a paths file, or both --touchpoints and --conversions")
    selected = _models(models, with_incrementality=paths is None)
    if paths:
        credits = credits_from_paths(paths, selected, separator=separator, direct_channel=direct_channel)
    else:
        credits = credits_from_touchpoints(
            touchpoints,
            conversions,
            selected,
            lookback_days=lookback_days,
            click_window_days=click_window_days,
            view_window_days=view_window_days,
            as_of=as_of.date() if as_of else None,
            direct_channel=direct_channel,
        )
    if out:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            credits.to_csv(out, index=False)
        except OSError as error:
            raise click.ClickException(f"{out}: cannot write: {error.strerror or error}") from None
        click.echo(f"{len(credits)} credits ({', '.join(selected)}) written to {out}", err=True)
    else:
        click.echo(credits.to_string(index=False, float_format=lambda v: f"{v:,.4f}"))


# --- models ---------------------------------------------------------------------------------------------


def _models(models: str, *, with_incrementality: bool) -> tuple[str, ...]:
    from adplan.attribution.jobs import ALL_MODELS, ATTRIBUTION_MODELS, parse_models

    tokens = [token.strip() for token in models.split(",") if token.strip()]
    if any(token.lower() == "all" for token in tokens):
        tokens = [token for token in tokens if token.lower() != "all"] + list(ATTRIBUTION_MODELS)
    try:
        selected = parse_models(tokens, allowed=ALL_MODELS)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--model") from None
    if "incrementality" in selected and not with_incrementality:
        raise click.BadParameter(
            "incrementality needs every person's exposures: use --touchpoints and --conversions",
            param_hint="--model",
        )
    return selected


def credits_from_paths(
    path: Path, models: tuple[str, ...], *, separator: str = ">", direct_channel: str = "direct"
) -> pd.DataFrame:
    """Credits of the selected models on a ChannelAttribution-style paths CSV."""
    from adplan.attribution.paths import paths_from_frame

    frame = _read_table(path, csv_only=True)
    _require_columns(path, frame, PATH_COLUMNS)
    for column in PATH_NUMERIC:
        if column in frame.columns:
            frame[column] = _numeric_column(path, frame, column)
    frame["path"] = frame["path"].astype("string")
    try:
        paths = paths_from_frame(frame, sep=separator)
    except (ValueError, TypeError) as error:
        raise click.ClickException(f"{path}: column path: {error}") from None
    if paths.n_paths == 0:
        raise click.ClickException(
            f"{path}: no path with conversions or nulls (columns path, total_conversions)"
        )
    return _path_model_credits(paths, models, direct_channel=direct_channel, source=path)


def credits_from_touchpoints(
    touchpoints_path: Path,
    conversions_path: Path,
    models: tuple[str, ...],
    *,
    lookback_days: int = 30,
    click_window_days: int | None = None,
    view_window_days: int | None = None,
    as_of: date | None = None,
    direct_channel: str = "direct",
) -> pd.DataFrame:
    """Credits of the selected models on touchpoint and conversion files (journeys as the DAG builds them)."""
    import duckdb

    from adplan.attribution.heuristics import MODELS as HEURISTIC_MODELS
    from adplan.attribution.jobs import incremental_conversions
    from adplan.attribution.journeys import heuristic_credits, journeys_from_touchpoints
    from adplan.attribution.paths import paths_from_frame

    touches = _touchpoints_frame(touchpoints_path)
    orders = _conversions_frame(conversions_path)
    if orders.empty:
        raise click.ClickException(f"{conversions_path}: no conversions")
    latest = max(orders["ts"].max(), touches["ts"].max() if len(touches) else orders["ts"].max())
    as_of = as_of or latest.date()
    analysis_days = max((as_of - orders["ts"].min().date()).days + 1, 1)
    ds = as_of.isoformat()
    con = duckdb.connect()
    try:
        for name, frame in (("touchpoints", touches), ("conversions", orders)):
            con.register(f"{name}_frame", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
            con.unregister(f"{name}_frame")
        paths = journeys_from_touchpoints(
            con,
            "touchpoints",
            "conversions",
            ds,
            lookback_days=lookback_days,
            click_window_days=click_window_days,
            view_window_days=view_window_days,
            analysis_days=analysis_days,
        )
        frames = []
        if any(model in HEURISTIC_MODELS for model in models):
            heuristic = heuristic_credits(con, ds, direct_channel=direct_channel)
            frames.append(
                heuristic.groupby(["model", "channel"], as_index=False)[["conversions", "value"]].sum()
            )
        path_models = [
            model for model in models if model not in HEURISTIC_MODELS and model != "incrementality"
        ]
        if path_models and len(paths) and paths["total_conversions"].sum() > 0:
            frames.append(
                _path_model_credits(paths_from_frame(paths), tuple(path_models), source=touchpoints_path)
            )
        if "incrementality" in models:
            notes: list[str] = []
            lift = incremental_conversions(con, ds, unit="person", notes=notes)
            if lift is None:
                raise click.ClickException(f"{touchpoints_path}, {conversions_path}: {'; '.join(notes)}")
            frames.append(lift[["model", "channel", "conversions", "value"]])
    except duckdb.Error as error:
        raise click.ClickException(f"{touchpoints_path}, {conversions_path}: {error}") from None
    finally:
        con.close()
    if not frames or not any(len(frame) for frame in frames):
        raise click.ClickException(
            f"{conversions_path}: no conversion has a touchpoint within the lookback window "
            f"({lookback_days} days up to {ds})"
        )
    return _ordered(pd.concat(frames, ignore_index=True), models)


def _path_model_credits(paths, models: tuple[str, ...], *, direct_channel: str = "direct", source: Path):
    from adplan.attribution.heuristics import MODELS as HEURISTIC_MODELS
    from adplan.attribution.heuristics import heuristics
    from adplan.attribution.markov import markov
    from adplan.attribution.shapley import shapley

    frames = []
    try:
        if any(model in HEURISTIC_MODELS for model in models):
            frames.append(heuristics(paths, direct_channel=direct_channel))
        for model in models:
            if model.startswith("markov_"):
                frames.append(markov(paths, int(model.rsplit("_", 1)[1])))
            elif model == "shapley":
                frames.append(shapley(paths))
    except ValueError as error:
        raise click.ClickException(f"{source}: {error}") from None
    credits = pd.concat(frames, ignore_index=True)
    return _ordered(credits[credits["model"].isin(models)], models)


def _ordered(credits: pd.DataFrame, models: tuple[str, ...]) -> pd.DataFrame:
    rank = {model: i for i, model in enumerate(models)}
    credits = credits[credits["model"].isin(models)]
    credits = credits.assign(_rank=credits["model"].map(rank)).sort_values(
        ["_rank", "channel"], kind="stable"
    )
    credits = credits[OUTPUT_COLUMNS].astype({"conversions": float, "value": float})
    return credits.round({"conversions": 9, "value": 9}).reset_index(drop=True)


# --- reading files -----------------------------------------------------------------------------------------


def _read_table(path: Path, *, csv_only: bool = False) -> pd.DataFrame:
    if not path.is_file():
        raise click.ClickException(f"{path}: no such file")
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")) and not csv_only:
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
    except Exception as error:  # pandas and pyarrow raise many kinds; all mean the file is unreadable
        kind = "CSV" if csv_only or not name.endswith((".parquet", ".pq")) else "Parquet"
        raise click.ClickException(f"{path}: cannot read as {kind}: {error}") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame


def _require_columns(path: Path, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        found = ", ".join(frame.columns) or "none"
        raise click.ClickException(
            f"{path}: missing column {', '.join(missing)} (needs {', '.join(columns)}; found {found})"
        )


def _row(frame: pd.DataFrame, position: int, path: Path) -> str:
    """A row's place for a message: its CSV line (header = line 1) or Parquet row number."""
    if path.name.lower().endswith((".parquet", ".pq")):
        return f"row {position + 1}"
    return f"line {position + 2}"


def _numeric_column(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        raise click.ClickException(
            f"{path}: column {column}: {raw.iloc[position]!r} on {_row(frame, position, path)} is not a number"
        )
    negative = values < 0
    if negative.any():
        position = int(negative.to_numpy().nonzero()[0][0])
        raise click.ClickException(
            f"{path}: column {column}: {raw.iloc[position]!r} on {_row(frame, position, path)} is negative"
        )
    return values.fillna(0.0).astype(float)


def _timestamp_column(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    raw = frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = raw
    else:
        values = pd.to_datetime(raw.astype("string"), errors="coerce", utc=True, format="mixed")
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = values.isna()
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        shown = raw.iloc[position]
        what = "is empty" if pd.isna(shown) else f"{shown!r} is not a timestamp"
        raise click.ClickException(f"{path}: column {column}: {what} on {_row(frame, position, path)}")
    return values.astype("datetime64[us]")


def _text_column(path: Path, frame: pd.DataFrame, column: str, *, required: bool = True) -> pd.Series:
    values = frame[column].astype("string").str.strip()
    values = values.mask(values == "")
    if required and values.isna().any():
        position = int(values.isna().to_numpy().nonzero()[0][0])
        raise click.ClickException(f"{path}: column {column}: empty on {_row(frame, position, path)}")
    return values.astype(object).where(values.notna(), None)


def _touchpoints_frame(path: Path) -> pd.DataFrame:
    frame = _read_table(path)
    _require_columns(path, frame, TOUCHPOINT_COLUMNS)
    touches = pd.DataFrame(
        {
            "person_id": _text_column(path, frame, "person_id"),
            "ts": _timestamp_column(path, frame, "ts"),
            "channel": _text_column(path, frame, "channel"),
        }
    )
    for column in ("campaign_id", "creative_id", "publisher_id"):
        touches[column] = (
            _text_column(path, frame, column, required=False) if column in frame.columns else None
        )
        touches[column] = touches[column].astype(object)
    if "event_type" in frame.columns:
        kinds = frame["event_type"].astype("string").str.strip().str.lower().fillna("impression")
        bad = ~kinds.isin(EVENT_TYPES)
        if bad.any():
            position = int(bad.to_numpy().nonzero()[0][0])
            raise click.ClickException(
                f"{path}: column event_type: {frame['event_type'].iloc[position]!r} on "
                f"{_row(frame, position, path)} is not one of {', '.join(EVENT_TYPES)}"
            )
        touches["event_type"] = kinds.astype(object)
    else:
        touches["event_type"] = "impression"
    return touches


def _conversions_frame(path: Path) -> pd.DataFrame:
    frame = _read_table(path)
    _require_columns(path, frame, CONVERSION_COLUMNS)
    return pd.DataFrame(
        {
            "person_id": _text_column(path, frame, "person_id"),
            "ts": _timestamp_column(path, frame, "ts"),
            "value": _numeric_column(path, frame, "value") if "value" in frame.columns else 0.0,
        }
    )
