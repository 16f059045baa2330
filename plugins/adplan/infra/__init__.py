"""Infrastructure as code: CloudFormation templates rendered from include/config and include/contracts."""

from adplan.infra.render import render_templates, stale_templates, write_templates

__all__ = ["render_templates", "stale_templates", "write_templates"]
