"""Alerts to people: the channels of ``include/config/alerts.yaml`` and what adplan sends on them.

One way to send, for every alert: ``deliver(config, subject, text, attributes)`` posts to each enabled
channel:

* ``log``: a warning in the task's log (the logger named by the caller);
* ``sns``: the Amazon provider's ``SnsHook.publish_to_target`` on ``topic_arn``, through the Airflow
  connection ``Settings.aws_conn_id``;
* ``slack``: a JSON POST ``{"text": ...}`` to a Slack incoming webhook whose URL is the password of
  the Airflow connection ``webhook_conn_id`` (a secret, never in the config file).

A channel that fails does not stop the others; ``deliver`` then raises, naming the failed channels.

What is sent: pacing reports (``adplan.insights.alerts``), and run health for operations: a task
that failed for good (``TaskFailureNotifier``, every DAG's ``on_failure_callback``) and a nightly run
past its deadline (``deadline_missed``, the nightly DAG's ``DeadlineAlert``). Messages carry ids, task
names and numbers, never personal data: a failure message names the exception's type, not its text.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)

CHANNEL_TYPES = ("log", "sns", "slack")
DEFAULT_THRESHOLD = 0.2
SLACK_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Channel:
    type: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertsConfig:
    threshold: float = DEFAULT_THRESHOLD
    channels: tuple[Channel, ...] = (Channel("log"),)


def _share(value: Any, name: str) -> float:
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    if share < 0:
        raise ValueError(f"{name} must not be negative")
    return share


def load_alerts_config(path: str | Path | None = None) -> AlertsConfig:
    """``alerts.yaml``: without a path the project's file, or the defaults (log only) when it does not exist."""
    if path is None:
        from adplan.settings import get_settings

        path = get_settings().config_dir / "alerts.yaml"
    path = Path(path)
    if not path.exists():
        return AlertsConfig()
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    threshold = _share((document.get("pacing") or {}).get("threshold", DEFAULT_THRESHOLD), "pacing.threshold")
    channels = []
    for entry in document.get("channels") or []:
        entry = dict(entry or {})
        kind = entry.pop("type", None)
        if kind not in CHANNEL_TYPES:
            raise ValueError(f"{path}: channel type must be one of {', '.join(CHANNEL_TYPES)}, not {kind!r}")
        if not entry.pop("enabled", True):
            continue
        required = {"sns": "topic_arn", "slack": "webhook_conn_id"}.get(kind)
        if required and not entry.get(required):
            raise ValueError(f"{path}: the {kind} channel needs {required}")
        channels.append(Channel(kind, entry))
    return AlertsConfig(threshold=threshold, channels=tuple(channels))


def _slack_url(conn_id: str) -> str:
    from airflow.sdk import BaseHook

    connection = BaseHook.get_connection(conn_id)
    url = connection.password or connection.host or ""
    if not url.startswith(("https://", "http://")):
        raise ValueError(
            f"connection {conn_id!r} must hold the Slack webhook URL (http(s)://...) as password"
        )
    return url


def deliver(
    config: AlertsConfig,
    subject: str,
    text: str,
    attributes: dict[str, Any] | None = None,
    logger: logging.Logger = log,
) -> list[str]:
    """Send one alert on every channel of ``config``; returns the channels it went to."""
    sent: list[str] = []
    failed: dict[str, str] = {}
    for channel in config.channels:
        try:
            SENDERS[channel.type](channel.options, subject[:100], text, attributes or {}, logger)
            sent.append(channel.type)
        except Exception as error:  # one channel's failure does not silence the others
            logger.exception("alert: the %s channel failed", channel.type)
            failed[channel.type] = f"{type(error).__name__}: {error}"
    if failed:
        raise RuntimeError(f"alert not delivered on {', '.join(sorted(failed))}: {failed}")
    return sent


def _send_log(options: dict[str, Any], subject: str, text: str, attributes: dict[str, Any], logger) -> None:
    logger.warning("%s", text)


def _send_sns(options: dict[str, Any], subject: str, text: str, attributes: dict[str, Any], logger) -> None:
    from airflow.providers.amazon.aws.hooks.sns import SnsHook

    from adplan.settings import get_settings

    settings = get_settings()
    hook = SnsHook(
        aws_conn_id=options.get("aws_conn_id", settings.aws_conn_id),
        region_name=options.get("region_name", settings.region),
    )
    hook.publish_to_target(
        target_arn=options["topic_arn"], message=text, subject=subject, message_attributes=attributes
    )


def _send_slack(options: dict[str, Any], subject: str, text: str, attributes: dict[str, Any], logger) -> None:
    request = urllib.request.Request(
        _slack_url(options["webhook_conn_id"]),
        data=json.dumps({"text": text}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=SLACK_TIMEOUT_SECONDS) as response:
        if not 200 <= response.status < 300:
            raise RuntimeError(f"Slack webhook answered {response.status}")


SENDERS = {"log": _send_log, "sns": _send_sns, "slack": _send_slack}


# ---------------------------------------------------------------------------------------------
# Run health


def _run_date_of(context: Any) -> str:
    from adplan.run_date import run_date

    try:
        return run_date(context)
    except (ValueError, KeyError, AttributeError):
        return "unknown date"


class TaskFailureNotifier(BaseNotifier):
    """``on_failure_callback`` of every adplan task: a task failed with no retries left."""

    def __init__(self, config: AlertsConfig | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config

    def notify(self, context: Any) -> None:
        ti = context["ti"]
        error = context.get("exception")
        reason = type(error).__name__ if error is not None else "unknown error"
        subject = f"adplan: {ti.dag_id}.{ti.task_id} failed"
        text = (
            f"{subject} for {_run_date_of(context)} (run {ti.run_id}, try {ti.try_number}): {reason}. "
            "The task log in Airflow has the details."
        )
        deliver(
            self.config or load_alerts_config(), subject, text, {"dag_id": ti.dag_id, "task_id": ti.task_id}
        )


def deadline_missed(context: dict[str, Any], **_: Any) -> None:
    """``DeadlineAlert`` callback: a run is still not done at its deadline (Airflow passes ``context``
    with the run and the deadline)."""
    run = context.get("dag_run") or {}
    deadline = (context.get("deadline") or {}).get("deadline_time")
    subject = f"adplan: {run.get('dag_id', 'a DAG')} missed its deadline"
    text = f"{subject}: run {run.get('dag_run_id') or run.get('run_id')} ({run.get('state')}) was not done by {deadline}."
    deliver(load_alerts_config(), subject, text, {"dag_id": str(run.get("dag_id", ""))})
