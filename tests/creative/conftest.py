"""Fixtures for the creative engine: the project's creative config, segment descriptions, fake AWS.

Nothing here reaches a network: AWS tests use moto (Step Functions only) or botocore Stubber
(bedrock-runtime), with fake credentials and an endpoint on a closed local port for anything that escapes.
"""

from __future__ import annotations

import dataclasses

import pytest

from adplan.creative.config import load_creative_config
from adplan.creative.segments import segments_from_rows

# Four segments as the audience stage describes them: aggregates only, one per lifecycle stage.
SEGMENT_ROWS = [
    {
        "segment_id": "seg_new",
        "segment_name": "New autumn shoppers",
        "size": 12_400,
        "share_of_customers": 0.124,
        "avg_order_value": 64.5,
        "avg_ltv": 81.0,
        "median_recency_days": 12,
        "top_channels": ["social", "search"],
        "top_interests": ["hiking", "camping"],
        "lifecycle": "new",
    },
    {
        "segment_id": "seg_loyal",
        "segment_name": "Loyal trail runners",
        "size": 5_030,
        "share_of_customers": 0.05,
        "avg_order_value": 118.0,
        "avg_ltv": 930.0,
        "median_recency_days": 28,
        "top_channels": ["email"],
        "top_interests": ["trail running", "cheap eats"],
        "lifecycle": "loyal",
        "churn_model_version": "v7",  # an extra key: accepted, never read
    },
    {
        "segment_id": "seg_lapsed",
        "segment_name": "Lapsed since spring",
        "size": 30_100,
        "share_of_customers": 0.301,
        "avg_order_value": 71.2,
        "avg_ltv": 190.0,
        "median_recency_days": 245,
        "top_channels": ["display", "email"],
        "top_interests": [],
        "lifecycle": "lapsed",
    },
    {
        "segment_id": "seg_vip",
        "segment_name": "High-value skiers",
        "size": 880,
        "share_of_customers": 0.0088,
        "avg_order_value": 320.0,
        "avg_ltv": 2_480.0,
        "median_recency_days": 19,
        "top_channels": ["email", "social"],
        "top_interests": ["skiing"],
        "lifecycle": "high_value",
    },
]


@pytest.fixture(scope="session")
def config():
    return load_creative_config()


@pytest.fixture
def segment_rows():
    return [dict(row) for row in SEGMENT_ROWS]


@pytest.fixture(scope="session")
def segments():
    return segments_from_rows(SEGMENT_ROWS)


@pytest.fixture
def config_with(config):
    """``config_with(section, **changes)``: the project config with one section changed."""

    def change(section: str, **changes):
        return dataclasses.replace(
            config, **{section: dataclasses.replace(getattr(config, section), **changes)}
        )

    return change


@pytest.fixture
def fake_aws_env(monkeypatch, tmp_path):
    """Fake credentials and region, so botocore never looks for real ones or talks to AWS."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
