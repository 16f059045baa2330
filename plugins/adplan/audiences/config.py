"""The audience configuration: ``include/config/segments.yaml`` and ``include/config/activation.yaml``.

Both files are parsed into frozen dataclasses here, once, with errors that name the file's field; the
engines never read YAML themselves.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SEGMENT_ID = re.compile(r"[a-z][a-z0-9_]{0,62}")
IDENTIFIERS = {
    "email_sha256": "SHA-256 of the normalized email (trimmed, lowercased, provider rules of adplan.hygiene)",
    "phone_e164_sha256": "SHA-256 of the phone in E.164 with the leading '+' (e.g. +12125550134)",
    "phone_digits_sha256": "SHA-256 of the phone as digits only, country code first (e.g. 12125550134)",
    "maid_sha256": "SHA-256 of the lowercased mobile advertising id (IDFA / GAID)",
}
HASH_METHOD = "SHA-256 of the UTF-8 bytes of the normalized value, lowercase hex (64 characters)"


class AudienceConfigError(ValueError):
    """A segments or activation file that can't be used; the message names the file and the field."""


# --- segments.yaml ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LtvTier:
    name: str
    min_percentile: float


@dataclass(frozen=True)
class Lifecycle:
    new_max_days: int = 90
    active_max_days: int = 180
    lapsed_min_days: int = 365
    loyal_min_purchase_days: int = 3


@dataclass(frozen=True)
class SegmentDefinition:
    id: str
    name: str
    rule: str
    description: str = ""


@dataclass(frozen=True)
class ClusterSettings:
    enabled: bool = True
    population: str = "is_customer"
    features: tuple[str, ...] = ("recency_days", "frequency", "avg_order_value", "affinity_*")
    log_features: tuple[str, ...] = ("frequency", "avg_order_value")
    k_min: int = 2
    k_max: int = 8
    fit_sample: int = 50_000
    silhouette_sample: int = 2_000
    seed: int = 7


@dataclass(frozen=True)
class LookalikeSettings:
    seed_segment: str | None = None
    exclude_customers: bool = True
    holdout_share: float = 0.25
    max_interests: int = 200


@dataclass(frozen=True)
class SegmentsConfig:
    segments: tuple[SegmentDefinition, ...]
    channels: tuple[str, ...] = ("search", "social", "display", "video", "ctv", "email")
    ltv_horizon_days: int = 365
    rfm_bins: int = 5
    ltv_tiers: tuple[LtvTier, ...] = (
        LtvTier("top", 0.9),
        LtvTier("high", 0.7),
        LtvTier("mid", 0.4),
        LtvTier("low", 0.0),
    )
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    describe_features: tuple[str, ...] = ("recency_days", "orders", "avg_order_value", "affinity_*")
    top_features: int = 5
    top_channels: int = 3
    top_interests: int = 5
    min_interest_share: float = 0.05
    clusters: ClusterSettings = field(default_factory=ClusterSettings)
    lookalike: LookalikeSettings = field(default_factory=LookalikeSettings)

    def segment(self, segment_id: str) -> SegmentDefinition:
        for segment in self.segments:
            if segment.id == segment_id:
                return segment
        raise KeyError(f"no segment {segment_id!r} in segments.yaml; segments: {self.segment_ids()}")

    def segment_ids(self) -> list[str]:
        return [segment.id for segment in self.segments]

    def select(self, wanted: str | Sequence[str] | None) -> list[SegmentDefinition]:
        """The rule segments named in ``wanted`` ("all", a comma-separated string or a list)."""
        names = parse_selection(wanted)
        if names is None:
            return list(self.segments)
        return [self.segment(name) for name in names]

    @property
    def affinity_columns(self) -> list[str]:
        return [f"affinity_{channel}" for channel in self.channels]


def load_segments_config(path: str | Path | None = None) -> SegmentsConfig:
    path = Path(path) if path is not None else _config_dir() / "segments.yaml"
    return parse_segments_config(_read_yaml(path), source=path.name)


def parse_segments_config(document: Mapping[str, Any], source: str = "segments.yaml") -> SegmentsConfig:
    settings = document.get("settings") or {}
    segments = tuple(
        _parse_segment(raw, position, source) for position, raw in enumerate(document.get("segments") or [])
    )
    seen: set[str] = set()
    for segment in segments:
        if segment.id in seen:
            raise AudienceConfigError(f"{source}: segment id {segment.id!r} appears twice")
        seen.add(segment.id)
    lifecycle = Lifecycle(
        **_known(settings.get("lifecycle") or {}, Lifecycle, f"{source}: settings.lifecycle")
    )
    tiers = (
        tuple(
            LtvTier(str(tier["name"]), float(tier["min_percentile"]))
            for tier in settings.get("ltv_tiers") or []
        )
        or SegmentsConfig.ltv_tiers
    )
    if sorted(tiers, key=lambda tier: -tier.min_percentile) != list(tiers) or tiers[-1].min_percentile != 0:
        raise AudienceConfigError(
            f"{source}: settings.ltv_tiers must run from the highest min_percentile down to a tier at 0.0"
        )
    clusters_raw = dict(document.get("clusters") or {})
    for key in ("features", "log_features"):
        if key in clusters_raw:
            clusters_raw[key] = tuple(clusters_raw[key])
    clusters = ClusterSettings(**_known(clusters_raw, ClusterSettings, f"{source}: clusters"))
    lookalike = LookalikeSettings(
        **_known(document.get("lookalike") or {}, LookalikeSettings, f"{source}: lookalike")
    )
    if lookalike.seed_segment and lookalike.seed_segment not in seen:
        raise AudienceConfigError(
            f"{source}: lookalike.seed_segment {lookalike.seed_segment!r} is not a segment id; "
            f"segments: {sorted(seen)}"
        )
    scalars = {
        key: settings[key]
        for key in (
            "ltv_horizon_days",
            "rfm_bins",
            "top_features",
            "top_channels",
            "top_interests",
            "min_interest_share",
        )
        if key in settings
    }
    return SegmentsConfig(
        segments=segments,
        channels=tuple(settings.get("channels") or SegmentsConfig.channels),
        ltv_tiers=tiers,
        lifecycle=lifecycle,
        describe_features=tuple(settings.get("describe_features") or SegmentsConfig.describe_features),
        clusters=clusters,
        lookalike=lookalike,
        **scalars,
    )


def _parse_segment(raw: Any, position: int, source: str) -> SegmentDefinition:
    where = f"{source}: segments[{position}]"
    if not isinstance(raw, Mapping):
        raise AudienceConfigError(f"{where} must be a mapping with id, name and rule")
    segment_id = str(raw.get("id") or "")
    if not SEGMENT_ID.fullmatch(segment_id):
        raise AudienceConfigError(
            f"{where}: id {segment_id!r} must be lowercase letters, digits and underscores, starting with a letter"
        )
    if segment_id.startswith("cluster_"):
        raise AudienceConfigError(f"{where}: ids starting with 'cluster_' are reserved for k-means clusters")
    rule = str(raw.get("rule") or "").strip()
    if not rule:
        raise AudienceConfigError(f"{where} ({segment_id}): a rule is required")
    return SegmentDefinition(
        id=segment_id,
        name=str(raw.get("name") or segment_id),
        rule=rule,
        description=" ".join(str(raw.get("description") or "").split()),
    )


def expand_columns(patterns: Sequence[str], columns: Sequence[str]) -> list[str]:
    """Feature names with ``*`` patterns expanded against ``columns`` (order kept, no repeats)."""
    expanded: list[str] = []
    for pattern in patterns:
        matches = fnmatch.filter(columns, pattern) if "*" in pattern else [pattern]
        expanded += [name for name in matches if name not in expanded]
    return expanded


# --- activation.yaml --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportColumn:
    header: str
    identifier: str


@dataclass(frozen=True)
class Destination:
    id: str
    platform: str
    columns: tuple[ExportColumn, ...]
    max_rows_per_file: int | None = None
    max_identifiers_per_file: int | None = None
    max_file_bytes: int | None = None
    min_records: int | None = None

    def rows_per_file(self) -> int:
        """The most rows a file may hold under every limit (hashes are fixed-width, so bytes are bounded)."""
        limits = [self.max_rows_per_file or 10**12]
        width = len(self.columns)
        if self.max_identifiers_per_file:
            limits.append(self.max_identifiers_per_file // width)
        if self.max_file_bytes:
            header_bytes = len(",".join(column.header for column in self.columns)) + 1
            row_bytes = 64 * width + width  # 64 hex per value, commas between, a newline
            limits.append((self.max_file_bytes - header_bytes) // row_bytes)
        rows = min(limits)
        if rows < 1:
            raise AudienceConfigError(f"activation.yaml: {self.id}'s limits leave no room for a single row")
        return rows

    def limits(self) -> dict[str, int]:
        names = ("max_rows_per_file", "max_identifiers_per_file", "max_file_bytes", "min_records")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


@dataclass(frozen=True)
class ActivationConfig:
    destinations: tuple[Destination, ...]

    def select(self, wanted: str | Sequence[str] | None) -> list[Destination]:
        names = parse_selection(wanted)
        if names is None:
            return list(self.destinations)
        known = {destination.id: destination for destination in self.destinations}
        missing = [name for name in names if name not in known]
        if missing:
            raise AudienceConfigError(
                f"unknown destination(s) {', '.join(missing)}; activation.yaml has {', '.join(sorted(known))}"
            )
        return [known[name] for name in names]


def load_activation_config(path: str | Path | None = None) -> ActivationConfig:
    path = Path(path) if path is not None else _config_dir() / "activation.yaml"
    return parse_activation_config(_read_yaml(path), source=path.name)


def parse_activation_config(document: Mapping[str, Any], source: str = "activation.yaml") -> ActivationConfig:
    destinations = []
    for destination_id, raw in (document.get("destinations") or {}).items():
        where = f"{source}: destinations.{destination_id}"
        if not SEGMENT_ID.fullmatch(str(destination_id)):
            raise AudienceConfigError(f"{where}: ids are lowercase letters, digits and underscores")
        columns = tuple(
            ExportColumn(str(column["header"]), str(column["identifier"]))
            for column in raw.get("columns") or []
        )
        if not columns:
            raise AudienceConfigError(f"{where}: at least one column is required")
        for column in columns:
            if column.identifier not in IDENTIFIERS:
                raise AudienceConfigError(
                    f"{where}: column {column.header!r} uses unknown identifier {column.identifier!r}; "
                    f"identifiers: {', '.join(IDENTIFIERS)}"
                )
        limits = raw.get("limits") or {}
        destination = Destination(
            id=str(destination_id),
            platform=str(raw.get("platform") or destination_id),
            columns=columns,
            max_rows_per_file=limits.get("max_rows_per_file"),
            max_identifiers_per_file=limits.get("max_identifiers_per_file"),
            max_file_bytes=limits.get("max_file_bytes"),
            min_records=raw.get("min_records"),
        )
        destination.rows_per_file()  # fails early on limits that can't hold a row
        destinations.append(destination)
    if not destinations:
        raise AudienceConfigError(f"{source}: no destinations")
    return ActivationConfig(tuple(destinations))


# --- helpers ----------------------------------------------------------------------------------------


def parse_selection(wanted: str | Sequence[str] | None) -> list[str] | None:
    """``"all"`` (or None/empty) means everything (None); otherwise the listed names, in order, once each."""
    if wanted is None:
        return None
    items = wanted.split(",") if isinstance(wanted, str) else [str(item) for item in wanted]
    names = list(dict.fromkeys(item.strip() for item in items if item.strip()))
    if not names or names == ["all"]:
        return None
    return names


def _known(raw: Mapping[str, Any], cls: type, where: str) -> dict[str, Any]:
    allowed = set(cls.__dataclass_fields__)
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise AudienceConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(allowed)}")
    return dict(raw)


def _read_yaml(path: Path) -> Mapping[str, Any]:
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    if not isinstance(document, Mapping):
        raise AudienceConfigError(f"{path.name}: the file must be a mapping")
    return document


def _config_dir() -> Path:
    from adplan.settings import get_settings

    return get_settings().config_dir
