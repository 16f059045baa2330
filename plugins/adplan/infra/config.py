"""The configuration the templates are rendered from: the same files the local engines read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from adplan.hygiene.contracts import Contract, load_contracts


class InfraConfigError(ValueError):
    """A configuration file the templates are rendered from is inconsistent (names the file)."""


@dataclass(frozen=True)
class InfraConfig:
    include_dir: Path
    contracts: dict[str, Contract]
    schema_mappings: dict[str, dict[str, Any]]  # file stem -> API-shaped SchemaMapping
    workflows: dict[str, dict[str, Any]]  # file stem -> API-shaped MatchingWorkflow
    collaboration: dict[str, Any]
    creative: dict[str, Any]
    teams: dict[str, Any] = field(default_factory=dict)
    state_machines: dict[str, dict[str, Any]] = field(default_factory=dict)  # stem -> ASL
    requirements: dict[str, str] = field(default_factory=dict)  # pinned package versions

    @classmethod
    def load(
        cls, include_dir: Path, lock_file: Path | None = None, contracts: dict[str, Contract] | None = None
    ) -> InfraConfig:
        """Read include/ (``contracts``: already loaded contracts of include/contracts, to skip reparsing)."""
        config_dir = include_dir / "config"
        er_dir = config_dir / "entity_resolution"
        teams_file = config_dir / "teams.yaml"
        return cls(
            include_dir=include_dir,
            contracts=contracts if contracts is not None else load_contracts(include_dir / "contracts"),
            schema_mappings={p.stem: _json(p) for p in sorted((er_dir / "schema_mappings").glob("*.json"))},
            workflows={p.stem: _json(p) for p in sorted((er_dir / "workflows").glob("*.json"))},
            collaboration=_yaml(config_dir / "collaboration.yaml"),
            creative=_yaml(config_dir / "creative.yaml"),
            teams=_yaml(teams_file) if teams_file.is_file() else {},
            state_machines={
                p.name.removesuffix(".asl.json"): _json(p)
                for p in sorted((include_dir / "state_machines").glob("*.asl.json"))
            },
            requirements=_pins(lock_file) if lock_file and lock_file.is_file() else {},
        )

    def schema_mapping(self, schema_name: str) -> dict[str, Any]:
        for mapping in self.schema_mappings.values():
            if mapping["schemaName"] == schema_name:
                return mapping
        raise InfraConfigError(f"no schema mapping named {schema_name!r} in include/config/entity_resolution")


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InfraConfigError(f"{path}: not valid JSON ({error})") from None


def _yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise InfraConfigError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(document, dict):
        raise InfraConfigError(f"{path}: must be a mapping")
    return document


def _pins(lock_file: Path) -> dict[str, str]:
    pins = {}
    for line in lock_file.read_text(encoding="utf-8").splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not name.startswith("#"):
            pins[name.lower()] = version.split()[0]
    return pins
