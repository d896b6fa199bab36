"""What `ops apply/plan` deploy to one region: the rendered template and the stack's settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ops.config import Config
from ops.render import render


@dataclass(frozen=True)
class StackRequest:
    """The rendered template and the stack settings from the config."""

    stack: str
    template: Mapping[str, Any]
    tags: Mapping[str, str] = field(default_factory=dict)
    artifact_bucket: str | None = None
    termination_protection: bool = False
    parameters: Mapping[str, str] = field(default_factory=dict)
    continue_rollback: bool = False
    skip_resources: tuple[str, ...] = ()

    @classmethod
    def from_config(
        cls, config: Config, region: str, parameters: Mapping[str, str], **extra: Any
    ) -> StackRequest:
        """The stack of `region` as the config renders it; termination protection defaults to
        `stack.production`."""
        stack = config.stack
        protect = (
            stack.production
            if stack.termination_protection is None
            else stack.termination_protection
        )
        return cls(
            stack=stack.name,
            template=json.loads(render(config, "json", region=region)),
            tags=dict(stack.tags),
            artifact_bucket=stack.artifact_bucket,
            termination_protection=protect,
            parameters=dict(parameters),
            **extra,
        )

    @property
    def body(self) -> str:
        # Compact: more stacks fit CreateChangeSet's inline limit than with `ops render`'s indent.
        return json.dumps(self.template, sort_keys=True, separators=(",", ":"))

    def without_continue(self) -> StackRequest:
        """The request once the rollback it asked to continue has been continued."""
        return replace(self, continue_rollback=False, skip_resources=())
