"""Config -> CloudFormation template, deterministically (stable logical ids, sorted keys).

Each family registers a builder in `BUILDERS` under its config section key; `build_template`
calls them in config order, then lets the shared pieces finish (queue policy...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from troposphere import Parameter, Template

from ops.build import source_key
from ops.config import Config
from ops.models.deployer import renders_in
from ops.package import build_bundle
from templates.common import ARTIFACT_ACCOUNT_PARAMETER, CodeLocation, RenderContext
from templates.dashboard import add_dashboard
from templates.deployer import BUNDLE as DEPLOYER_BUNDLE
from templates.deployer import add_deployer
from templates.log_processors import BUNDLE as LOGS_BUNDLE
from templates.log_processors import add_log_processor
from templates.purge import BUNDLE as PURGE_BUNDLE
from templates.purge import add_purge_job
from templates.responders import BUNDLE as RESPONDERS_BUNDLE
from templates.responders import add_responder
from templates.user_functions import add_user_function, code_bundle

Format = Literal["json", "yaml"]
R = TypeVar("R")

# section key -> (functions/ bundle, or "" for a function built from its own code; builder)
BUILDERS: dict[str, tuple[str, Callable[[RenderContext, Any], Any]]] = {
    "purge": (PURGE_BUNDLE, add_purge_job),
    "responder": (RESPONDERS_BUNDLE, add_responder),
    "deployer": (DEPLOYER_BUNDLE, add_deployer),
    "log_processor": (LOGS_BUNDLE, add_log_processor),
    "function": ("", add_user_function),
}


class OpsTemplate(Template):
    """A Template that records which config section added each resource, and leaves
    CloudFormation's quotas to `check_counts`: troposphere's own check raises a bare ValueError
    at the 501st resource, halfway through building, which says neither how many the config
    needs nor where they come from."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.families: Counter[str] = Counter()  # section key -> resources it added
        self.item_counts: Counter[str] = Counter()  # section key -> items rendered

    def add_resource(self, resource: R) -> R:
        return self._update(self.resources, resource)

    def add_output(self, output: R) -> R:
        return self._update(self.outputs, output)

    def add_parameter(self, parameter: R) -> R:
        return self._update(self.parameters, parameter)


# Sections a stack set leaves out: the deployer's buckets are global names fixed in the config,
# and its primary and replica regions render different stacks (docs/org.md).
NOT_IN_STACK_SETS = ("deployer",)


def build_template(
    config: Config, region: str | None = None, *, stack_set: bool = False
) -> OpsTemplate:
    """The stack of `region`; with `stack_set`, the one template every instance of
    `[targets]` runs (code from the administrator account's bucket of the instance's region)."""
    template = OpsTemplate(
        Description=f"ops stack {config.stack.name}: housekeeping functions (rendered by ops)"
    )
    items = [
        (s, i)
        for s, i in config.items()
        if (s.key not in NOT_IN_STACK_SETS if stack_set else renders_in(config, s.key, region))
    ]
    if stack_set:
        template.add_parameter(
            Parameter(
                ARTIFACT_ACCOUNT_PARAMETER,
                Type="String",
                AllowedPattern="^[0-9]{12}$",
                Description="The account whose artifact bucket in each region holds the code",
            )
        )
    used = {BUILDERS[s.key][0] for s, _ in items if s.key in BUILDERS} - {""}
    code = {b: CodeLocation(b, build_bundle(b).key) for b in sorted(used)}
    for section, item in items:
        if section.key == "function":
            code[code_bundle(item)] = CodeLocation(code_bundle(item), source_key(config, item))
    ctx = RenderContext(
        config=config, template=template, code=code, region=region, stack_set=stack_set
    )
    for section, item in items:
        before = len(template.resources)
        BUILDERS[section.key][1](ctx, item)
        template.families[section.key] += len(template.resources) - before
        template.item_counts[section.key] += 1
    before = len(template.resources)
    if config.stack.dashboard:
        add_dashboard(template, config.stack.name)
    ctx.finish()
    template.families["shared"] += len(template.resources) - before
    return template


def render(
    config: Config, fmt: Format = "json", region: str | None = None, *, stack_set: bool = False
) -> str:
    """The template's text; a config CloudFormation would refuse is a `ConfigError` before the
    template is serialised (or anything uploaded: `ops apply` renders first)."""
    template = build_template(config, region, stack_set=stack_set)
    source = str(config.source)
    check_counts(template, source)
    if fmt == "yaml":
        text = str(template.to_yaml(clean_up=True))
    else:
        text = str(template.to_json(indent=2, sort_keys=True)) + "\n"
    check_size(template, text, source)
    return text


# CloudFormation's per-template quotas (a TemplateURL body may be up to 1 MB).
LIMITS = {"resources": 500, "outputs": 200, "parameters": 200}
MAX_TEMPLATE_BYTES = 1_048_576
QUOTAS = "CloudFormation allows 500 resources and 1 MB (1,048,576 bytes) per template"


def check_counts(template: OpsTemplate, source: str = "config") -> None:
    """Refuse, at render time, a template with more resources, outputs or parameters than
    CloudFormation takes, naming how many and which sections they come from."""
    from ops.errors import ConfigError, Problem

    problems = []
    if len(template.resources) > LIMITS["resources"]:
        problems.append(
            Problem(
                "",
                f"the template would have {len(template.resources)} resources "
                f"({breakdown(template)}); {QUOTAS}: split the config into several stacks",
            )
        )
    for name in ("outputs", "parameters"):
        if (n := len(getattr(template, name))) > LIMITS[name]:
            problems.append(
                Problem(
                    "",
                    f"the template would have {n} {name}; CloudFormation allows "
                    f"{LIMITS[name]} per template: split the config into several stacks",
                )
            )
    if problems:
        raise ConfigError(source, problems)


def check_size(template: OpsTemplate, body: str, source: str = "config") -> None:
    from ops.errors import ConfigError, Problem

    size = len(body.encode())
    if size > MAX_TEMPLATE_BYTES:
        message = (
            f"the template is {size:,} bytes, with {len(template.resources)} resources "
            f"({breakdown(template)}); {QUOTAS}: split the config into several stacks"
        )
        raise ConfigError(source, [Problem("", message)])


def breakdown(template: OpsTemplate) -> str:
    """`purge: 720 for 72 items, shared: 3`, largest first."""
    parts = []
    for family, count in template.families.most_common():
        if count:
            items = template.item_counts.get(family)
            per = f" for {items} item{'s' * (items != 1)}" if items else ""
            parts.append(f"{family}: {count}{per}")
    return ", ".join(parts)
