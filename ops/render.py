"""Config -> CloudFormation template, deterministically (stable logical ids, sorted keys).

Each family registers a builder in `BUILDERS` under its config section key; `build_template`
calls them in config order, then lets the shared pieces finish (queue policy...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from troposphere import Template

from ops.config import Config
from ops.models.deployer import renders_in
from ops.package import build_bundle
from templates.common import CodeLocation, RenderContext
from templates.deployer import BUNDLE as DEPLOYER_BUNDLE
from templates.deployer import add_deployer
from templates.log_processors import BUNDLE as LOGS_BUNDLE
from templates.log_processors import add_log_processor
from templates.purge import BUNDLE as PURGE_BUNDLE
from templates.purge import add_purge_job
from templates.responders import BUNDLE as RESPONDERS_BUNDLE
from templates.responders import add_responder

Format = Literal["json", "yaml"]

# section key -> (functions/ bundle, builder(ctx, item))
BUILDERS: dict[str, tuple[str, Callable[[RenderContext, Any], Any]]] = {
    "purge": (PURGE_BUNDLE, add_purge_job),
    "responder": (RESPONDERS_BUNDLE, add_responder),
    "deployer": (DEPLOYER_BUNDLE, add_deployer),
    "log_processor": (LOGS_BUNDLE, add_log_processor),
}


def build_template(config: Config, region: str | None = None) -> Template:
    template = Template(
        Description=f"ops stack {config.stack.name}: housekeeping functions (rendered by ops)"
    )
    items = [(s, i) for s, i in config.items() if renders_in(config, s.key, region)]
    used = {BUILDERS[s.key][0] for s, _ in items if s.key in BUILDERS}
    code = {b: CodeLocation(b, build_bundle(b).key) for b in sorted(used)}
    ctx = RenderContext(config=config, template=template, code=code, region=region)
    for section, item in items:
        BUILDERS[section.key][1](ctx, item)
    ctx.finish()
    return template


def render(config: Config, fmt: Format = "json", region: str | None = None) -> str:
    template = build_template(config, region)
    if fmt == "yaml":
        text = str(template.to_yaml(clean_up=True))
    else:
        text = str(template.to_json(indent=2, sort_keys=True)) + "\n"
    check_limits(template, text, str(config.source))
    return text


# CloudFormation's per-template quotas (a TemplateURL body may be up to 1 MB).
LIMITS = {"resources": 500, "outputs": 200, "parameters": 200}
MAX_TEMPLATE_BYTES = 1_048_576


def check_limits(template: Template, body: str, source: str = "config") -> None:
    """Refuse, at render time, a template CloudFormation would refuse at deploy time."""
    from ops.errors import ConfigError, Problem

    sizes = {name: len(getattr(template, name)) for name in LIMITS}
    problems = [
        Problem(
            "",
            f"the template has {n} {name}; CloudFormation allows {LIMITS[name]} per "
            "stack: split the config into several stacks",
        )
        for name, n in sizes.items()
        if n > LIMITS[name]
    ]
    size = len(body.encode())
    if size > MAX_TEMPLATE_BYTES:
        problems.append(
            Problem(
                "",
                f"the template is {size:,} bytes; CloudFormation reads at "
                f"most {MAX_TEMPLATE_BYTES:,}: split the config",
            )
        )
    if problems:
        raise ConfigError(source, problems)
