"""Task builders: the neutral interface that use-case DAGs call, implemented once per target.

``ADPLAN_TARGET`` (``local`` by default, or ``aws``) chooses at parse time which implementation a DAG
gets. DAG files call ``builders()`` and never ask which target they run on.
"""

from __future__ import annotations

from adplan.settings import get_settings
from adplan.targets.base import TaskBuilders


def builders(target: str | None = None) -> TaskBuilders:
    settings = get_settings()
    chosen = target or settings.target
    if chosen == "aws":
        from adplan.targets.aws import AwsBuilders

        return AwsBuilders(settings)
    from adplan.targets.local import LocalBuilders

    return LocalBuilders(settings)


__all__ = ["TaskBuilders", "builders"]
