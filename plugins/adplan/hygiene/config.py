"""Hygiene settings: ``include/config/hygiene.yaml`` (default phone region, sources, thresholds)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers
import yaml

from adplan.catalog import LANDING_SOURCES
from adplan.hygiene.contracts import Contract
from adplan.hygiene.errors import ContractError

DEFAULT_SOURCES = LANDING_SOURCES
_CONFIG_KEYS = frozenset(
    {
        "default_region",
        "sources",
        "default_max_rejected_share",
        "thresholds",
        "min_rows_for_share",
        "max_field_length",
    }
)


@dataclass(frozen=True)
class HygieneConfig:
    # Region for phone numbers written without a country code (ISO 3166 alpha-2, as phonenumbers wants).
    default_region: str = "US"
    # Landing sources the nightly run processes, in order.
    sources: tuple[str, ...] = DEFAULT_SOURCES
    # A source's threshold: ``thresholds[source]``, else its contract's max_rejected_share, else this.
    default_max_rejected_share: float = 0.05
    thresholds: Mapping[str, float] = field(default_factory=dict)
    # Small deliveries are judged as if they had this many rows, so that one bad row in a 3-row
    # reference file does not fail the night (a file whose rows are all rejected still fails).
    min_rows_for_share: int = 100
    # Longest value a field may hold unless its contract says otherwise (longer ones are quarantined).
    max_field_length: int = 4096
    origin: str = ""

    def threshold_for(self, contract: Contract) -> float:
        if contract.source in self.thresholds:
            return self.thresholds[contract.source]
        if contract.max_rejected_share is not None:
            return contract.max_rejected_share
        return self.default_max_rejected_share

    @property
    def day_first_dates(self) -> bool:
        """Whether numeric dates like 03/04/1985 are day first: everywhere but North America."""
        return phonenumbers.country_code_for_region(self.default_region) != 1


def load_config(path: Path | None = None) -> HygieneConfig:
    """Load ``hygiene.yaml``; without a path, the project's file, or the defaults when it does not exist."""
    if path is None:
        from adplan.settings import get_settings

        path = get_settings().config_dir / "hygiene.yaml"
        if not path.is_file():
            return HygieneConfig()
    if not path.is_file():
        raise ContractError(f"no hygiene config file {path}")
    return parse_config_text(path.read_text(encoding="utf-8"), str(path))


def parse_config_text(text: str, origin: str) -> HygieneConfig:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ContractError(f"{origin}: not valid YAML ({error})") from None
    if not isinstance(document, Mapping):
        raise ContractError(f"{origin}: the hygiene config must be a mapping")
    unknown = sorted(str(key) for key in document if key not in _CONFIG_KEYS)
    if unknown:
        raise ContractError(
            f"{origin}: unknown key(s) {', '.join(unknown)}; known keys are {', '.join(sorted(_CONFIG_KEYS))}"
        )
    defaults = HygieneConfig()
    config = HygieneConfig(
        default_region=str(document.get("default_region", defaults.default_region)).upper(),
        sources=tuple(document.get("sources") or defaults.sources),
        default_max_rejected_share=document.get(
            "default_max_rejected_share", defaults.default_max_rejected_share
        ),
        thresholds=dict(document.get("thresholds") or {}),
        min_rows_for_share=document.get("min_rows_for_share", defaults.min_rows_for_share),
        max_field_length=document.get("max_field_length", defaults.max_field_length),
        origin=origin,
    )
    _check_config(config, origin)
    return config


def _check_config(config: HygieneConfig, origin: str) -> None:
    if config.default_region not in phonenumbers.SUPPORTED_REGIONS:
        raise ContractError(f"{origin}: default_region {config.default_region!r} is not a phone region")
    shares: dict[str, Any] = {"default_max_rejected_share": config.default_max_rejected_share}
    shares |= {f"thresholds.{source}": share for source, share in config.thresholds.items()}
    for label, share in shares.items():
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ContractError(f"{origin}: {label} must be a share between 0 and 1")
    for label in ("min_rows_for_share", "max_field_length"):
        value = getattr(config, label)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ContractError(f"{origin}: {label} must be a positive integer")
    if not all(isinstance(source, str) for source in config.sources):
        raise ContractError(f"{origin}: sources must be a list of source names")
