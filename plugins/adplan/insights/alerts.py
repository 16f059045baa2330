"""Pacing alerts: when in-flight lines are off plan, say so on the channels of ``include/config/alerts.yaml``.

One way to send: the ``campaign_insights`` DAG's pacing step (the ``insights.pacing_alerts`` job)
computes the report and hands it to ``PacingAlertNotifier``, an Airflow notifier (``BaseNotifier``)
that delivers it to every enabled channel:

* ``log``: a warning in the pacing task's log (the logger ``adplan.insights.alerts``);
* ``sns``: the Amazon provider's ``SnsHook.publish_to_target`` on ``topic_arn``, through the Airflow
  connection ``Settings.aws_conn_id``;
* ``slack``: a JSON POST ``{"text": ...}`` to a Slack incoming webhook whose URL is the password of
  the Airflow connection ``webhook_conn_id`` (a secret, never in the config file).

Messages carry campaign ids, channels and numbers only, never names or personal data. A channel that
fails does not stop the others; the notifier then raises, so the task fails (and retries).
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
MAX_LINES = 25  # lines listed in one message (the count says how many there are)
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


def _money(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.2f}"


def format_message(report: dict[str, Any]) -> tuple[str, str]:
    """(subject, text) of a pacing report: campaign ids, channels and numbers only."""
    alerts = report["alerts"]
    threshold = float(report["threshold"])
    subject = f"adplan pacing: {len(alerts)} line(s) off plan by more than {threshold:.0%} on {report['ds']}"
    lines = [
        f"{subject} ({len(alerts)} of {report['checked']} in-flight campaign x channel lines).",
    ]
    for alert in alerts[:MAX_LINES]:
        lines.append(
            f"- {alert['campaign_id']} / {alert['channel']}: {alert['direction']} plan, pacing "
            f"{float(alert['pacing_ratio']):.2f} (spend to date {_money(alert['actual_spend'])} of "
            f"{_money(alert['planned_spend_to_date'])} planned; projected {_money(alert['projected_spend'])} "
            f"of budget {_money(alert['planned_budget'])})"
        )
    if len(alerts) > MAX_LINES:
        lines.append(f"... and {len(alerts) - MAX_LINES} more (the campaign_pacing table has them all)")
    return subject[:100], "\n".join(lines)


def _slack_url(conn_id: str) -> str:
    from airflow.sdk import BaseHook

    connection = BaseHook.get_connection(conn_id)
    url = connection.password or connection.host or ""
    if not url.startswith(("https://", "http://")):
        raise ValueError(
            f"connection {conn_id!r} must hold the Slack webhook URL (http(s)://...) as password"
        )
    return url


class PacingAlertNotifier(BaseNotifier):
    """Deliver a pacing report (``adplan.insights.jobs.pacing_alerts``) to the configured channels.

    ``PacingAlertNotifier(report).notify(context)`` sends it when it has alerts and returns what went
    where; ``report`` is a template field, so the notifier also works as an Airflow callback given a
    report pulled from XCom.
    """

    template_fields = ("report",)

    def __init__(self, report: dict[str, Any], config: AlertsConfig | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report
        self.config = config or load_alerts_config()

    def notify(self, context: Any = None) -> dict[str, Any]:
        report = self.report
        if not report.get("alerts"):
            return {"sent": [], "failed": {}}
        subject, text = format_message(report)
        sent: list[str] = []
        failed: dict[str, str] = {}
        for channel in self.config.channels:
            name = channel.type
            try:
                getattr(self, f"_send_{name}")(channel.options, subject, text, report)
                sent.append(name)
            except Exception as error:  # one channel's failure does not silence the others
                log.exception("pacing alert: the %s channel failed", name)
                failed[name] = f"{type(error).__name__}: {error}"
        if failed:
            raise RuntimeError(f"pacing alert not delivered on {', '.join(sorted(failed))}: {failed}")
        return {"sent": sent, "failed": failed}

    def _send_log(self, options: dict[str, Any], subject: str, text: str, report: dict[str, Any]) -> None:
        log.warning("%s", text)

    def _send_sns(self, options: dict[str, Any], subject: str, text: str, report: dict[str, Any]) -> None:
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        from adplan.settings import get_settings

        settings = get_settings()
        hook = SnsHook(
            aws_conn_id=options.get("aws_conn_id", settings.aws_conn_id),
            region_name=options.get("region_name", settings.region),
        )
        hook.publish_to_target(
            target_arn=options["topic_arn"],
            message=text,
            subject=subject,
            message_attributes={"ds": report["ds"], "alerts": len(report["alerts"])},
        )

    def _send_slack(self, options: dict[str, Any], subject: str, text: str, report: dict[str, Any]) -> None:
        request = urllib.request.Request(
            _slack_url(options["webhook_conn_id"]),
            data=json.dumps({"text": text}).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=SLACK_TIMEOUT_SECONDS) as response:
            if not 200 <= response.status < 300:
                raise RuntimeError(f"Slack webhook answered {response.status}")
