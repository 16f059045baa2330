"""The creative configuration file, its checks, and the engine's import boundary."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest
import yaml

import adplan.creative
from adplan.creative.config import CreativeConfigError, default_config_path, parse_creative_config


@pytest.fixture(scope="module")
def document():
    return yaml.safe_load(default_config_path().read_text())


def test_the_channel_specs_of_the_issue(config):
    limits = {
        name: {spec.name: spec.max_chars for spec in channel.fields}
        for name, channel in config.channels.items()
    }
    assert limits["search"] == {"headline": 30, "description": 90}
    assert limits["social"]["primary_text"] == 125
    assert limits["display"]["headline"] == 25
    assert limits["email"]["subject"] == 60
    assert {name: channel.disclaimer_field for name, channel in config.channels.items()} == {
        "search": None, "social": "primary_text", "display": None, "email": "body",
    }  # fmt: skip


def test_brief_rules_and_model_settings(config):
    assert config.mandatory_disclaimers_for("email") == ("Offer ends 30 Nov 2026. Terms apply.",)
    assert config.mandatory_disclaimers_for("search") == ()
    assert "cheap" in config.brand_rules.banned_words
    assert {rule.claim for rule in config.brand_rules.claims_needing_disclaimer} >= {
        "free shipping",
        "waterproof",
    }
    assert config.model.model_id.startswith("anthropic.claude")
    assert (config.model.max_tokens, config.model.temperature) == (600, 0.7)
    assert config.model.guardrail_identifier == ""
    assert config.generation.max_attempts == 3
    assert (config.prompts.directory / config.prompts.user).is_file()


def broken(document, path: str, value):
    changed = copy.deepcopy(document)
    *parents, last = path.split(".")
    target = changed
    for key in parents:
        target = target[key]
    target[last] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("brief.mandatory_disclaimers", [{"id": "t", "text": "Terms apply.", "channels": ["search"]}], "has no disclaimer_field"),
        ("brief.mandatory_disclaimers", [{"id": "t", "text": "x" * 130, "channels": ["social"]}], "leaves no room"),
        ("brief.mandatory_disclaimers", [{"id": "t", "text": "Terms.", "channels": ["radio"]}], "unknown channel 'radio'"),
        ("channels.search.fields.headline", 0, "positive number of characters"),
        ("channels.social.disclaimer_field", "footer", "is not one of its fields"),
        ("model.temperature", 1.5, "between 0 and 1"),
        ("brief.product", "", "brief.product is required"),
        ("brand_rules.banned_words", "cheap", "list of non-empty strings"),
    ],
)  # fmt: skip
def test_a_bad_file_fails_at_load(document, path, value, message):
    with pytest.raises(CreativeConfigError, match=message):
        parse_creative_config(broken(document, path, value), Path("include/prompts"))


# The aws target's Airflow operators (Step Functions start/sensor with payloads in the lake): the only
# module of the package that may import Airflow, and no engine module imports it.
AIRFLOW_ADAPTERS = {"operators.py"}


def test_the_engine_imports_neither_airflow_nor_boto3():
    package = Path(adplan.creative.__file__).parent
    for module in package.glob("*.py"):
        if module.name in AIRFLOW_ADAPTERS:
            continue
        tree = ast.parse(module.read_text())
        imported = {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        roots = {name.split(".")[0] for name in imported}
        assert not roots & {"airflow", "boto3", "botocore", "aiobotocore"}, module.name
        assert "adplan.creative.operators" not in imported, module.name
