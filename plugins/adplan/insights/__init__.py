"""Campaign insights: KPI marts (``sql/insights``), pacing alerts, the dashboard and its static export.

Engines here import no Airflow: ``jobs`` (the DAG's entry points), ``data`` (what the dashboard shows,
read from the warehouse), ``report`` (the self-contained HTML), ``cli`` (``adplan report``). ``web`` is
the FastAPI app that the Airflow UI plugin (``adplan.plugin``) mounts at ``/adplan``. Two modules use
the Amazon provider and Airflow, imported only when needed: ``athena`` (the dashboard's reader on the
aws target) and ``alerts`` (pacing alerts: log, SNS, Slack, from ``include/config/alerts.yaml``).
"""
