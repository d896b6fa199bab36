"""Config -> CloudFormation template, deterministically (stable logical ids, sorted keys).

Each family registers a builder in `BUILDERS` under its config section key; `build_template`
calls them in config order, then lets the shared pieces finish (queue policy...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from troposphere import Template

from ops.config import Config
from ops.package import build_bundle
from templates.common import CodeLocation, RenderContext
from templates.purge import BUNDLE as PURGE_BUNDLE
from templates.purge import add_purge_job
from templates.responders import BUNDLE as RESPONDERS_BUNDLE
from templates.responders import add_responder

Format = Literal["json", "yaml"]

# section key -> (functions/ bundle, builder(ctx, item))
BUILDERS: dict[str, tuple[str, Callable[[RenderContext, Any], Any]]] = {
    "purge": (PURGE_BUNDLE, add_purge_job),
    "responder": (RESPONDERS_BUNDLE, add_responder),
}


def build_template(config: Config, region: str | None = None) -> Template:
    template = Template(
        Description=f"ops stack {config.stack.name}: housekeeping functions (rendered by ops)"
    )
    used = {BUILDERS[s.key][0] for s, _ in config.items() if s.key in BUILDERS}
    code = {b: CodeLocation(b, build_bundle(b).key) for b in sorted(used)}
    ctx = RenderContext(config=config, template=template, code=code, region=region)
    for section, item in config.items():
        BUILDERS[section.key][1](ctx, item)
    ctx.finish()
    return template


def render(config: Config, fmt: Format = "json", region: str | None = None) -> str:
    template = build_template(config, region)
    if fmt == "yaml":
        return str(template.to_yaml(clean_up=True))
    return str(template.to_json(indent=2, sort_keys=True)) + "\n"
