"""The Airflow UI plugin: the campaign insights dashboard inside the Airflow 3 UI.

Registers the FastAPI app of ``adplan.insights.web`` at ``/adplan`` and a navigation entry (an
external view embedded in the UI) pointing at it. Airflow loads this through the one-line
``plugins/adplan_plugin.py``; ``plugins/.airflowignore`` keeps Airflow from importing the package's
other modules as plugins.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from adplan.insights.web import app

URL_PREFIX = "/adplan"


class AdplanPlugin(AirflowPlugin):
    name = "adplan"
    fastapi_apps: ClassVar[list[Any]] = [{"app": app, "url_prefix": URL_PREFIX, "name": "adplan insights"}]
    external_views: ClassVar[list[Any]] = [
        {
            "name": "Campaign insights",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "adplan-insights",
        }
    ]
