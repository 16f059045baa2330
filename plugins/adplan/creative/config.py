"""The creative setup, read from ``include/config/creative.yaml``: brief, brand rules, channels, model.

Loading checks what would otherwise fail late (a disclaimer that cannot fit its channel, a disclaimer
field that is not one of the channel's fields, a mandatory disclaimer for a channel with no room for
one), so a bad file fails at load, not in the middle of a generation run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONFIG_FILE = "creative.yaml"


class CreativeConfigError(ValueError):
    """The creative configuration file is incomplete or inconsistent."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    max_chars: int


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    label: str
    guidance: str
    fields: tuple[FieldSpec, ...]
    disclaimer_field: str | None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields)

    def limit(self, field: str) -> int:
        for spec in self.fields:
            if spec.name == field:
                return spec.max_chars
        raise KeyError(f"channel {self.name} has no field {field!r}")


@dataclass(frozen=True)
class Disclaimer:
    id: str
    text: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class ClaimRule:
    claim: str
    disclaimer: str


@dataclass(frozen=True)
class Substantiation:
    claim: str
    evidence: str


@dataclass(frozen=True)
class Brief:
    campaign_id: str
    brand: str
    objective: str
    product: str
    offer: str
    offer_short: str
    call_to_action: str
    tone: str
    mandatory_disclaimers: tuple[Disclaimer, ...]
    substantiations: tuple[Substantiation, ...]


@dataclass(frozen=True)
class BrandRules:
    voice: tuple[str, ...]
    banned_words: tuple[str, ...]
    claims_needing_disclaimer: tuple[ClaimRule, ...]
    unsupported_superlatives: tuple[str, ...]


@dataclass(frozen=True)
class ModelConfig:
    model_id: str
    anthropic_version: str
    max_tokens: int
    temperature: float
    guardrail_identifier: str
    guardrail_version: str
    max_concurrency: int


@dataclass(frozen=True)
class GenerationConfig:
    max_attempts: int
    lapsed_after_days: int
    premium_order_value: float


@dataclass(frozen=True)
class BatchConfig:
    """Bedrock batch inference (the DAG's ``mode=batch``): the service role and the smallest job."""

    role_arn: str  # the role Bedrock assumes to read the input and write the output in the lake bucket
    min_records: int  # a round with fewer items goes through the state machine instead


@dataclass(frozen=True)
class PromptFiles:
    directory: Path
    system: str
    user: str
    revision: str
    local_copy: str  # the local generator's copy templates


@dataclass(frozen=True)
class CreativeConfig:
    brief: Brief
    brand_rules: BrandRules
    channels: Mapping[str, ChannelSpec]
    model: ModelConfig
    generation: GenerationConfig
    prompts: PromptFiles
    batch: BatchConfig = BatchConfig(role_arn="", min_records=100)

    def channel(self, name: str) -> ChannelSpec:
        try:
            return self.channels[name]
        except KeyError:
            raise CreativeConfigError(
                f"unknown channel {name!r}; channels are {', '.join(self.channels)}"
            ) from None

    def mandatory_disclaimers_for(self, channel: str) -> tuple[str, ...]:
        return tuple(d.text for d in self.brief.mandatory_disclaimers if channel in d.channels)


def default_config_path() -> Path:
    from adplan.settings import get_settings

    return get_settings().config_dir / CONFIG_FILE


def default_prompts_dir() -> Path:
    from adplan.settings import get_settings

    return get_settings().project_dir / "include" / "prompts"


def load_creative_config(
    path: str | Path | None = None, prompts_dir: str | Path | None = None
) -> CreativeConfig:
    """Read the creative file (default ``include/config/creative.yaml``) and check it."""
    path = Path(path) if path is not None else default_config_path()
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    return parse_creative_config(document, Path(prompts_dir) if prompts_dir else default_prompts_dir())


def parse_creative_config(document: Mapping[str, Any], prompts_dir: Path) -> CreativeConfig:
    if not isinstance(document, Mapping):
        raise CreativeConfigError("the creative file must be a mapping")
    channels = _parse_channels(_section(document, "channels"))
    config = CreativeConfig(
        brief=_parse_brief(_section(document, "brief")),
        brand_rules=_parse_brand_rules(_section(document, "brand_rules")),
        channels=channels,
        model=_parse_model(_section(document, "model")),
        generation=_parse_generation(document.get("generation") or {}),
        prompts=_parse_prompts(document.get("prompts") or {}, prompts_dir),
        batch=_parse_batch(document.get("batch") or {}),
    )
    _check_disclaimers_fit(config)
    return config


# --- parsing ---------------------------------------------------------------------------------------


def _section(document: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = document.get(name)
    if not isinstance(value, Mapping):
        raise CreativeConfigError(f"the creative file needs a {name!r} mapping")
    return value


def _text(section: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = section.get(key, default)
    if value is None or not str(value).strip():
        raise CreativeConfigError(f"{where}.{key} is required")
    return str(value).strip()


def _words(values: Any, where: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise CreativeConfigError(f"{where} must be a list of non-empty strings")
    return tuple(v.strip() for v in values)


def _parse_brief(section: Mapping[str, Any]) -> Brief:
    disclaimers = tuple(
        Disclaimer(
            id=_text(entry, "id", "brief.mandatory_disclaimers[]"),
            text=_text(entry, "text", "brief.mandatory_disclaimers[]"),
            channels=_words(entry.get("channels"), "brief.mandatory_disclaimers[].channels"),
        )
        for entry in section.get("mandatory_disclaimers") or []
    )
    substantiations = tuple(
        Substantiation(
            claim=_text(entry, "claim", "brief.substantiations[]"),
            evidence=_text(entry, "evidence", "brief.substantiations[]"),
        )
        for entry in section.get("substantiations") or []
    )
    return Brief(
        campaign_id=_text(section, "campaign_id", "brief"),
        brand=_text(section, "brand", "brief"),
        objective=_text(section, "objective", "brief"),
        product=_text(section, "product", "brief"),
        offer=_text(section, "offer", "brief"),
        offer_short=_text(section, "offer_short", "brief", default=section.get("offer")),
        call_to_action=_text(section, "call_to_action", "brief"),
        tone=_text(section, "tone", "brief"),
        mandatory_disclaimers=disclaimers,
        substantiations=substantiations,
    )


def _parse_brand_rules(section: Mapping[str, Any]) -> BrandRules:
    claims = tuple(
        ClaimRule(
            claim=_text(entry, "claim", "brand_rules.claims_needing_disclaimer[]"),
            disclaimer=_text(entry, "disclaimer", "brand_rules.claims_needing_disclaimer[]"),
        )
        for entry in section.get("claims_needing_disclaimer") or []
    )
    return BrandRules(
        voice=_words(section.get("voice"), "brand_rules.voice"),
        banned_words=_words(section.get("banned_words"), "brand_rules.banned_words"),
        claims_needing_disclaimer=claims,
        unsupported_superlatives=_words(
            section.get("unsupported_superlatives"), "brand_rules.unsupported_superlatives"
        ),
    )


def _parse_channels(section: Mapping[str, Any]) -> dict[str, ChannelSpec]:
    channels = {}
    for name, spec in section.items():
        where = f"channels.{name}"
        raw_fields = spec.get("fields") if isinstance(spec, Mapping) else None
        if not isinstance(raw_fields, Mapping) or not raw_fields:
            raise CreativeConfigError(f"{where}.fields must map field names to character limits")
        fields = []
        for field, limit in raw_fields.items():
            if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
                raise CreativeConfigError(f"{where}.fields.{field} must be a positive number of characters")
            fields.append(FieldSpec(str(field), limit))
        disclaimer_field = spec.get("disclaimer_field")
        if disclaimer_field is not None and disclaimer_field not in raw_fields:
            raise CreativeConfigError(
                f"{where}.disclaimer_field {disclaimer_field!r} is not one of its fields"
            )
        channels[str(name)] = ChannelSpec(
            name=str(name),
            label=str(spec.get("label") or name),
            guidance=str(spec.get("guidance") or ""),
            fields=tuple(fields),
            disclaimer_field=disclaimer_field,
        )
    if not channels:
        raise CreativeConfigError("channels must name at least one channel")
    return channels


def _parse_model(section: Mapping[str, Any]) -> ModelConfig:
    try:
        max_tokens = int(section.get("max_tokens", 600))
        temperature = float(section.get("temperature", 0.7))
        max_concurrency = int(section.get("max_concurrency", 4))
    except (TypeError, ValueError) as error:
        raise CreativeConfigError(f"model settings must be numbers: {error}") from None
    if not 0.0 <= temperature <= 1.0:
        raise CreativeConfigError("model.temperature must be between 0 and 1 (Anthropic messages API)")
    if max_tokens <= 0 or max_concurrency < 0:
        raise CreativeConfigError("model.max_tokens must be positive and model.max_concurrency not negative")
    return ModelConfig(
        model_id=_text(section, "model_id", "model"),
        anthropic_version=_text(section, "anthropic_version", "model", default="bedrock-2023-05-31"),
        max_tokens=max_tokens,
        temperature=temperature,
        guardrail_identifier=str(section.get("guardrail_identifier") or "").strip(),
        guardrail_version=str(section.get("guardrail_version") or "").strip(),
        max_concurrency=max_concurrency,
    )


def _parse_generation(section: Mapping[str, Any]) -> GenerationConfig:
    max_attempts = int(section.get("max_attempts", 3))
    if max_attempts < 1:
        raise CreativeConfigError("generation.max_attempts must be at least 1")
    return GenerationConfig(
        max_attempts=max_attempts,
        lapsed_after_days=int(section.get("lapsed_after_days", 120)),
        premium_order_value=float(section.get("premium_order_value", 150)),
    )


def _parse_batch(section: Mapping[str, Any]) -> BatchConfig:
    try:
        min_records = int(section.get("min_records", 100))
    except (TypeError, ValueError):
        raise CreativeConfigError("batch.min_records must be a whole number") from None
    if min_records < 1:
        raise CreativeConfigError("batch.min_records must be at least 1")
    return BatchConfig(role_arn=str(section.get("role_arn") or "").strip(), min_records=min_records)


def _parse_prompts(section: Mapping[str, Any], directory: Path) -> PromptFiles:
    return PromptFiles(
        directory=directory,
        system=str(section.get("system", "creative_system.j2")),
        user=str(section.get("user", "creative_user.j2")),
        revision=str(section.get("revision", "creative_revision.j2")),
        local_copy=str(section.get("local_copy", "local_copy.yaml")),
    )


def _check_disclaimers_fit(config: CreativeConfig) -> None:
    for disclaimer in config.brief.mandatory_disclaimers:
        for channel_name in disclaimer.channels:
            channel = config.channel(channel_name)
            if channel.disclaimer_field is None:
                raise CreativeConfigError(
                    f"mandatory disclaimer {disclaimer.id!r} names channel {channel_name!r}, "
                    "which has no disclaimer_field"
                )
            if len(disclaimer.text) >= channel.limit(channel.disclaimer_field):
                raise CreativeConfigError(
                    f"mandatory disclaimer {disclaimer.id!r} leaves no room in "
                    f"{channel_name}.{channel.disclaimer_field}"
                )
