"""Pacing alerts: the config file, the message (ids and numbers only) and each channel really sending.

SNS goes to moto (an SQS queue subscribed to the topic receives the message); Slack goes to an HTTP
server this test starts on localhost; the log channel is read from the log records.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from insights_world import DS, EVIL_NAME

from adplan.insights import jobs
from adplan.insights.alerts import (
    AlertsConfig,
    Channel,
    PacingAlertNotifier,
    format_message,
    load_alerts_config,
)
from adplan.settings import PROJECT_DIR


def write_config(path: Path, threshold: float = 0.2, **channels: dict) -> Path:
    document = {
        "pacing": {"threshold": threshold},
        "channels": [{"type": "log"}] + [{"type": kind, **options} for kind, options in channels.items()],
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.fixture
def slack_server():
    """A local stand-in for a Slack incoming webhook: records each POST; answers `status`."""
    received: list[dict] = []
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(
                {"path": self.path, "type": self.headers["Content-Type"], "body": json.loads(body)}
            )
            self.send_response(state["status"])
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX", received, state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_project_config():
    config = load_alerts_config(PROJECT_DIR / "include" / "config" / "alerts.yaml")
    assert config.threshold == 0.2
    assert [c.type for c in config.channels] == ["log"]  # sns and slack ship disabled


def test_config_errors(tmp_path):
    bad = tmp_path / "alerts.yaml"
    bad.write_text("channels:\n  - type: email\n")
    with pytest.raises(ValueError, match="channel type"):
        load_alerts_config(bad)
    bad.write_text("channels:\n  - type: sns\n")
    with pytest.raises(ValueError, match="topic_arn"):
        load_alerts_config(bad)
    bad.write_text("pacing:\n  threshold: -1\n")
    with pytest.raises(ValueError, match="negative"):
        load_alerts_config(bad)
    assert load_alerts_config(tmp_path / "missing.yaml") == AlertsConfig()


def test_threshold_from_config_and_log_channel(world, tmp_path, caplog):
    config = write_config(tmp_path / "alerts.yaml", threshold=0.99)
    assert jobs.pacing_alerts(DS, alerts_config=str(config))["count"] == 0  # C1 is at 0.06: |0.94| < 0.99
    write_config(config, threshold=0.5)
    with caplog.at_level(logging.WARNING, logger="adplan.insights.alerts"):
        report = jobs.pacing_alerts(DS, threshold="None", alerts_config=str(config))
    assert report["threshold"] == 0.5 and report["count"] == 1 and report["notified"] == ["log"]
    (record,) = [r for r in caplog.records if r.name == "adplan.insights.alerts"]
    assert "C1 / search: under plan, pacing 0.06" in record.getMessage()
    # the run's param overrides the file
    assert jobs.pacing_alerts(DS, threshold="0.95", alerts_config=str(config))["count"] == 0


def test_message_has_ids_and_numbers_only(world):
    report = jobs.pacing_alerts(DS, threshold=0.2, notify=False)
    assert report["notified"] == []
    subject, text = format_message(report)
    assert subject == "adplan pacing: 1 line(s) off plan by more than 20% on 2026-03-10"
    assert "C1 / search: under plan, pacing 0.06 (spend to date 3.00 of 50.00 planned; projected 6.00" in text
    assert EVIL_NAME not in text and "ADV1" not in text and "script" not in text
    assert len(subject) <= 100


def test_sns_channel_with_moto(world, tmp_path, fake_aws, monkeypatch):
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL")  # moto answers in process; nothing leaves it
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", '{"conn_type": "aws"}')
    with mock_aws():
        import boto3

        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic = sns.create_topic(Name="adplan-pacing-alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="pacing-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        config = write_config(tmp_path / "alerts.yaml", sns={"topic_arn": topic})

        report = jobs.pacing_alerts(DS, alerts_config=str(config))
        assert report["notified"] == ["log", "sns"]
        (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["TopicArn"] == topic
    assert envelope["Subject"].startswith("adplan pacing: 1 line(s) off plan")
    assert "C1 / search: under plan, pacing 0.06" in envelope["Message"]
    assert envelope["MessageAttributes"]["ds"]["Value"] == DS
    assert EVIL_NAME not in envelope["Message"]


def test_slack_channel_posts_to_the_webhook(world, tmp_path, monkeypatch, slack_server, caplog):
    url, received, state = slack_server
    monkeypatch.setenv(
        "AIRFLOW_CONN_ADPLAN_SLACK_TEST", json.dumps({"conn_type": "slackwebhook", "password": url})
    )
    config = write_config(tmp_path / "alerts.yaml", slack={"webhook_conn_id": "adplan_slack_test"})
    report = jobs.pacing_alerts(DS, alerts_config=str(config))
    assert report["notified"] == ["log", "slack"]
    (post,) = received
    assert post["path"] == "/services/T000/B000/XXXX" and post["type"] == "application/json"
    assert "C1 / search: under plan, pacing 0.06" in post["body"]["text"]
    assert EVIL_NAME not in post["body"]["text"]

    # a webhook that refuses: the task fails (and retries), after the other channels were served
    state["status"] = 500
    with (
        caplog.at_level(logging.WARNING, logger="adplan.insights.alerts"),
        pytest.raises(RuntimeError, match="not delivered on slack"),
    ):
        jobs.pacing_alerts(DS, alerts_config=str(config))
    assert len(received) == 2
    assert any("C1 / search" in r.getMessage() for r in caplog.records)


def test_notifier_without_alerts_sends_nothing(slack_server):
    _, received, _ = slack_server
    config = AlertsConfig(channels=(Channel("slack", {"webhook_conn_id": "not_needed"}),))
    report = {"ds": DS, "threshold": 0.2, "checked": 2, "alerts": [], "count": 0}
    assert PacingAlertNotifier(report, config).notify({}) == {"sent": [], "failed": {}}
    assert received == []
