"""Fixtures for the adplan.aws tests: fake credentials, stubbed boto clients, a trigger runner.

Nothing here reaches a network: every call goes to a botocore Stubber (sync) or an aiobotocore
AioStubber (async, for triggers), and any call that escapes them is pointed at a closed local port.
"""

from __future__ import annotations

import asyncio
import contextlib
from unittest.mock import AsyncMock

import botocore.session
import pytest
from aiobotocore.session import get_session as get_aio_session
from aiobotocore.stub import AioStubber
from botocore.stub import Stubber

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch, tmp_path):
    """Fake credentials and region, so botocore never looks for real ones or talks to AWS."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # A request that escapes the stubs fails at once on a closed port instead of reaching AWS.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")


@pytest.fixture(scope="session")
def botocore_session():
    """One botocore session for all tests: it loads each service model once."""
    return botocore.session.get_session()


@pytest.fixture
def stub_hook_client(monkeypatch, botocore_session):
    """Return ``stub(hook_class, service_name) -> Stubber``: every hook of that class uses the stubbed client.

    At teardown each stubber must have served every response the test queued.
    """
    stubbers: list[Stubber] = []

    def stub(hook_class: type, service_name: str) -> Stubber:
        client = botocore_session.create_client(
            service_name, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        monkeypatch.setattr(hook_class, "conn", client)
        stubber = Stubber(client)
        stubber.activate()
        stubbers.append(stubber)
        return stubber

    yield stub
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


@pytest.fixture
def run_trigger(monkeypatch):
    """Return ``run(trigger, service_name, responses) -> events``.

    Runs the trigger's real ``run()`` (its hook, our waiter JSON, the provider's async_wait) against
    an aiobotocore client stubbed with ``responses``: ``(method, response, expected_params)`` tuples.
    """

    def run(trigger, service_name: str, responses: list[tuple[str, dict, dict]]) -> list:
        async def collect() -> list:
            aio_client = get_aio_session().create_client(
                service_name, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
            )
            async with aio_client as client:
                stubber = AioStubber(client)
                for method, response, expected_params in responses:
                    stubber.add_response(method, response, expected_params)
                stubber.activate()
                # The hook would build its own client from the Airflow connection; hand it ours.
                monkeypatch.setattr(
                    trigger.aws_hook_class,
                    "get_async_conn",
                    AsyncMock(return_value=contextlib.nullcontext(client)),
                )
                events = [event async for event in trigger.run()]
                stubber.assert_no_pending_responses()
                return events

        return asyncio.run(collect())

    return run
