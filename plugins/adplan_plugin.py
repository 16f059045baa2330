from adplan.plugin import AdplanPlugin  # noqa: F401
