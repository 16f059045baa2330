"""Rendering fixtures: the project's configuration, and editable copies of it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from adplan.hygiene.contracts import Contract
from adplan.infra.config import InfraConfig
from adplan.infra.render import load_config, render_templates
from adplan.settings import PROJECT_DIR, Settings


@pytest.fixture(scope="session")
def project_config() -> InfraConfig:
    return load_config()


@pytest.fixture(scope="session")
def templates(project_config: InfraConfig) -> dict[str, dict[str, Any]]:
    return render_templates(project_config, Settings())


class ConfigCopy:
    """A copy of include/ (config, contracts, state machines) that a test edits and renders."""

    def __init__(self, root: Path, contracts: dict[str, Contract] | None = None) -> None:
        self.root = root
        self.contracts = contracts  # the project's, parsed once, while no test edits a contract
        include = root / "include"
        for folder in ("config", "contracts", "state_machines"):
            shutil.copytree(PROJECT_DIR / "include" / folder, include / folder)
        shutil.copy(PROJECT_DIR / "requirements.lock", root / "requirements.lock")
        self.include = include

    def edit_yaml(self, relative: str, change: Callable[[Any], None]) -> None:
        path = self.include / relative
        if relative.startswith("contracts/"):
            self.contracts = None
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(document)
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")

    def edit_json(self, relative: str, change: Callable[[Any], None]) -> None:
        path = self.include / relative
        document = json.loads(path.read_text(encoding="utf-8"))
        change(document)
        path.write_text(json.dumps(document), encoding="utf-8")

    def render(self, settings: Settings | None = None) -> dict[str, dict[str, Any]]:
        config = InfraConfig.load(self.include, self.root / "requirements.lock", self.contracts)
        return render_templates(config, settings or Settings())


@pytest.fixture
def config_copy(tmp_path: Path, project_config: InfraConfig) -> ConfigCopy:
    return ConfigCopy(tmp_path, project_config.contracts)


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}
