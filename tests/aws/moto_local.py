"""A moto server on loopback, with this process's AWS settings pointed at it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

# Fake credentials and region: botocore looks for no real ones and signs requests moto accepts.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Start moto's server on a free loopback port and yield its endpoint. Until the block ends, this
    process has the fake credentials, no profile or role, and ``AWS_ENDPOINT_URL`` set to the server,
    so every boto3 client made here (DuckDB's S3 file system included) talks to moto."""
    from moto.server import ThreadedMotoServer

    patch = pytest.MonkeyPatch()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        patch.delenv(name, raising=False)
    for name, value in CREDENTIALS.items():
        patch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        yield endpoint
    finally:
        server.stop()
        patch.undo()
