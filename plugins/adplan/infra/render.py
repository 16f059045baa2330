"""Render every CloudFormation template from the configuration, write them, or check them.

``render_templates`` is pure: configuration in, template documents out (no AWS calls). The files in
``include/infra/`` are its output for the ``Settings`` defaults; a test fails when they are stale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adplan.infra.common import dumps
from adplan.infra.config import InfraConfig
from adplan.infra.governance import render_datazone, render_governance
from adplan.infra.lake import render_lake
from adplan.infra.services import (
    clean_room_owners,
    render_clean_rooms,
    render_creative,
    render_entity_resolution,
)
from adplan.settings import PROJECT_DIR, Settings

DEFAULT_OUT = PROJECT_DIR / "include" / "infra"
PREFIX = "adplan-"
RENDER_COMMAND = "adplan infra render"


def load_config(project_dir: Path = PROJECT_DIR) -> InfraConfig:
    return InfraConfig.load(project_dir / "include", project_dir / "requirements.lock")


def render_templates(
    config: InfraConfig | None = None, settings: Settings | None = None
) -> dict[str, dict[str, Any]]:
    """File name -> template document, in deployment order."""
    config = config or load_config()
    settings = settings or Settings()
    templates = {
        "adplan-lake.json": render_lake(config, settings),
        "adplan-entity-resolution.json": render_entity_resolution(config, settings),
    }
    for owner in clean_room_owners(config):
        templates[f"adplan-cleanrooms-{owner}.json"] = render_clean_rooms(config, settings, owner)
    templates["adplan-creative.json"] = render_creative(config, settings)
    templates["adplan-governance.json"] = render_governance(config, settings)
    datazone = render_datazone(config, settings)
    if datazone is not None:
        templates["adplan-datazone.json"] = datazone
    return templates


def render_texts(config: InfraConfig | None = None, settings: Settings | None = None) -> dict[str, str]:
    return {name: dumps(document) for name, document in render_templates(config, settings).items()}


def write_templates(out: Path = DEFAULT_OUT, texts: dict[str, str] | None = None) -> list[Path]:
    """Write the rendered templates to ``out``; remove rendered files that are no longer rendered."""
    texts = render_texts() if texts is None else texts
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(f"{PREFIX}*.json"):
        if stale.name not in texts:
            stale.unlink()
    written = []
    for name, text in texts.items():
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_templates(out: Path = DEFAULT_OUT, texts: dict[str, str] | None = None) -> list[str]:
    """Names of files in ``out`` that differ from a fresh rendering (missing, changed or extra)."""
    texts = render_texts() if texts is None else texts
    stale = [
        name
        for name, text in texts.items()
        if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text
    ]
    stale += [path.name for path in out.glob(f"{PREFIX}*.json") if path.name not in texts]
    return sorted(stale)
