"""Pacing alerts: when in-flight lines are off plan, say so on the channels of ``include/config/alerts.yaml``.

The ``campaign_insights`` DAG's pacing step (the ``insights.pacing_alerts`` job) computes the report
and hands it to ``PacingAlertNotifier``, an Airflow notifier (``BaseNotifier``) that sends it with
``adplan.alerts.deliver`` (log, SNS, Slack). Messages carry campaign ids, channels and numbers only,
never names or personal data. A channel that fails does not stop the others; the notifier then raises,
so the task fails (and retries).
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseNotifier

from adplan.alerts import AlertsConfig, Channel, deliver, load_alerts_config

__all__ = ["AlertsConfig", "Channel", "PacingAlertNotifier", "format_message", "load_alerts_config"]

log = logging.getLogger(__name__)

MAX_LINES = 25  # lines listed in one message (the count says how many there are)


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
        attributes = {"ds": report["ds"], "alerts": len(report["alerts"])}
        sent = deliver(self.config, subject, text, attributes, logger=log)
        return {"sent": sent, "failed": {}}
