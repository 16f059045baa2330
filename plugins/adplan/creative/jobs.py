"""Creative jobs for the task builders (``adplan.jobs``): generate variants locally, apply review decisions.

Both return counts and paths only: the copy stays in the lake, and no segment facts or personal data
reach XCom.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from adplan.creative.config import CreativeConfig, load_creative_config
from adplan.creative.generator import LocalGenerator
from adplan.creative.items import plan_items
from adplan.creative.pipeline import run_rounds, summarize
from adplan.creative.review import (
    apply_approvals,
    creative_rows,
    creatives_relation,
    load_decisions,
    read_creatives,
    render_review_page,
)
from adplan.creative.segments import (
    SegmentsNotFoundError,
    parse_selection,
    read_segments,
    segments_from_rows,
    select_segments,
)
from adplan.lake import Lake
from adplan.warehouse import Warehouse

if TYPE_CHECKING:
    from adplan.lake import S3Lake

ZONE, TABLE = "creative", "creatives"
SegmentReader = Callable[[str], Iterable[Mapping[str, Any]]]


def review_page_key(ds: str) -> str:
    """The review page's place in the lake (relative to its root)."""
    return f"{ZONE}/review/dt={ds}/review.html"


def review_page_path(lake: Lake, ds: str) -> Path:
    return lake.root / review_page_key(ds)


def warehouse_segment_reader(warehouse: Warehouse, table: str = "segments") -> SegmentReader:
    """Read segment descriptions from the warehouse's ``segments`` table (latest partition up to ds)."""

    def read(ds: str) -> list[dict[str, Any]]:
        con = warehouse.connect()
        try:
            return read_segments(con, table, ds)
        finally:
            con.close()

    return read


def generate(
    ds: str,
    campaign_id: str = "",
    segments: str | Sequence[str] = "all",
    channels: str | Sequence[str] = "all",
    variants: int = 3,
    *,
    segment_reader: SegmentReader | Iterable[Mapping[str, Any]] | None = None,
    warehouse: Warehouse | None = None,
    config: CreativeConfig | None = None,
    **_: Any,
) -> dict[str, Any]:
    """Write ``variants`` variants per segment x channel with the local generator, judged and retried.

    ``campaign_id`` defaults to the brief's; ``segments`` and ``channels`` are "all" or comma-separated
    names. Writes the ``creatives`` partition for ``ds`` and the review page, and returns counts.
    ``segment_reader`` (a function ds -> rows, or the rows themselves) replaces reading the warehouse's
    ``segments`` table.
    """
    config = config or load_creative_config()
    warehouse = warehouse or Warehouse.from_settings()
    campaign = campaign_id or config.brief.campaign_id
    chosen_channels = parse_selection(channels) or list(config.channels)
    for name in chosen_channels:
        config.channel(name)  # unknown channel names fail before any work
    chosen_segments = select_segments(segments_from_rows(_read(segment_reader, warehouse, ds)), segments)
    if not chosen_segments:
        raise SegmentsNotFoundError(f"no segment descriptions for {ds}: nothing to write creatives for")

    items = plan_items(
        config, chosen_segments, campaign_id=campaign, channels=chosen_channels, variants=int(variants)
    )
    results = run_rounds(config, items, LocalGenerator(config).answer)
    partition, review_page = publish_creatives(
        warehouse,
        ds,
        creative_rows(results),
        campaign_id=campaign,
        config=config,
        segment_names={segment.segment_id: segment.segment_name for segment in chosen_segments},
    )
    return {
        "campaign_id": campaign,
        "dt": ds,
        "segments": len(chosen_segments),
        "channels": chosen_channels,
        **summarize(results),
        "table": TABLE,
        "partition": str(partition),
        "review_page": str(review_page),
    }


def publish_creatives(
    warehouse: Warehouse,
    ds: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    campaign_id: str,
    config: CreativeConfig,
    segment_names: Mapping[str, str] | None = None,
) -> tuple[Path | str, Path | str]:
    """Replace the ``creatives`` partition of ``ds`` and its review page; refresh the catalog.

    Works on a local lake (both files replaced atomically) and on an S3 lake (each one object), so the
    local job and the DAG's publish task on either target share it.
    """
    lake = warehouse.lake
    partition = _write_creatives(lake, ds, rows)
    page = render_review_page(
        rows, campaign_id=campaign_id, ds=ds, config=config, segment_names=segment_names
    )
    review_page = lake.write_bytes(review_page_key(ds), page.encode("utf-8"))
    warehouse.refresh_catalog()
    return partition, (Path(review_page) if isinstance(lake, Lake) else review_page)


def _read(
    segment_reader: SegmentReader | Iterable[Mapping[str, Any]] | None, warehouse: Warehouse, ds: str
) -> Iterable[Mapping[str, Any]]:
    if segment_reader is None:
        return warehouse_segment_reader(warehouse)(ds)
    return segment_reader(ds) if callable(segment_reader) else segment_reader


def apply_review(ds: str, decisions: str, *, warehouse: Warehouse | None = None, **_: Any) -> dict[str, Any]:
    """Apply reviewers' decisions (a CSV or JSON file path) to the ``creatives`` partition of ``ds``."""
    warehouse = warehouse or Warehouse.from_settings()
    lake = warehouse.lake
    path = lake.partition_file(ZONE, TABLE, ds)
    if not path.is_file():
        raise FileNotFoundError(f"no creatives partition for {ds}: run the creative generation first")
    with duckdb.connect() as con:
        rows = read_creatives(con, path)
    report = apply_approvals(rows, load_decisions(decisions))
    _write_creatives(lake, ds, report.rows)
    warehouse.refresh_catalog()
    return {"dt": ds, **report.summary()}


def _write_creatives(lake: Lake | S3Lake, ds: str, rows: Sequence[Mapping[str, Any]]) -> Path | str:
    with duckdb.connect() as con:
        return lake.write_partition(ZONE, TABLE, ds, creatives_relation(con, rows))


def model_response(ds: str, body: Mapping[str, Any], model_id: str = "", **_: Any) -> dict[str, Any]:
    """The local ``model_call``: the generator's Bedrock-shaped response body for one request body."""
    config = load_creative_config()
    if model_id and model_id != config.model.model_id:
        config = replace(config, model=replace(config.model, model_id=model_id))
    return LocalGenerator(config).respond(body)
