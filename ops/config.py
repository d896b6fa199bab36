"""Load `ops.toml` into a frozen `Config`, reporting every problem of the file at once.

The file has one `[stack]` table and one section per function family. Each family declares its
section in `SECTIONS` (its TOML key, its model or its variants, the family short name used in
function names); `load_config` does the rest: types, required and unknown keys, duplicate names,
derived function names that are too long, logical ids that would collide.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops import CONFIG_ENV
from ops.errors import ConfigError, Problem
from ops.models.common import StackConfig
from ops.models.deployer import Deployer, check_deployer
from ops.models.lifecycle import check_lifecycle
from ops.models.log_processor import LOG_PROCESSOR_ACTIONS, LogProcessor, check_log_processors
from ops.models.purge import PURGE_TARGETS, PurgeJob
from ops.models.responder import RESPONDER_ACTIONS, Responder
from ops.models.responder import cross_check as check_responders
from ops.models.targets import Targets, check_targets
from ops.models.user_function import FAMILY as USER_FAMILY
from ops.models.user_function import UserFunction
from ops.models.user_function import cross_check as check_user_functions
from ops.naming import MAX_FUNCTION_NAME, function_name, logical_id
from ops.schema import Loader, unknown_key

DEFAULT_PATH = "ops.toml"


@dataclass(frozen=True)
class Section:
    """One function family's part of the config file."""

    key: str  # the TOML key: `purge` for `[[purge]]`
    family: str  # short name in function names and logical ids: `purge`
    variants: Mapping[str, type] = field(default_factory=dict)  # by `discriminator` value
    discriminator: str = ""
    model: type | None = None  # when the section has a single model
    many: bool = True  # `[[key]]` (an array of tables) or `[key]` (one table)
    # Checks across the section's items: (items, stack, problem sink) -> None, recording problems.
    cross_check: Callable[[tuple[Any, ...], StackConfig, Loader], None] | None = None
    # A check that needs more of the file (paths relative to it): (config, sink), the config
    # typed `Any` in ops/models, which never imports this module.
    config_check: Callable[[Any, Loader], None] | None = None


SECTIONS: tuple[Section, ...] = (
    Section(
        key="purge",
        family="purge",
        variants=PURGE_TARGETS,
        discriminator="target",
        cross_check=check_lifecycle,
    ),
    Section(
        key="responder",
        family="responder",
        variants=RESPONDER_ACTIONS,
        discriminator="action",
        cross_check=check_responders,
    ),
    Section(
        key="log_processor",
        family="logs",
        variants=LOG_PROCESSOR_ACTIONS,
        discriminator="action",
        cross_check=check_log_processors,
    ),
    Section(
        key="deployer", family="deployer", model=Deployer, many=False, config_check=check_deployer
    ),
    Section(
        key="function", family=USER_FAMILY, model=UserFunction, config_check=check_user_functions
    ),
)


@dataclass(frozen=True)
class Config:
    """A loaded, valid config file."""

    source: Path
    stack: StackConfig
    sections: Mapping[str, tuple[Any, ...]]
    targets: Targets | None = None  # `[targets]`: the accounts and regions of `ops apply --org`

    @property
    def purge(self) -> tuple[PurgeJob, ...]:
        return self.sections.get("purge", ())

    @property
    def log_processor(self) -> tuple[LogProcessor, ...]:
        return self.sections.get("log_processor", ())

    @property
    def responder(self) -> tuple[Responder, ...]:
        return self.sections.get("responder", ())

    @property
    def deployer(self) -> Deployer | None:
        found = self.sections.get("deployer", ())
        return found[0] if found else None

    @property
    def function(self) -> tuple[UserFunction, ...]:
        return self.sections.get("function", ())

    def items(self) -> list[tuple[Section, Any]]:
        """Every function-backed item of the config, with its section, in file order."""
        return [(s, item) for s in SECTIONS for item in self.sections.get(s.key, ())]

    def function_name(self, section: Section, item: Any) -> str:
        return function_name(self.stack.name, section.family, item.name)

    def find(self, name: str) -> tuple[Section, Any]:
        """The item called `name` (or `family/name` where names repeat across families)."""
        family, _, short = name.rpartition("/")
        found = [(s, i) for s, i in self.items() if i.name == short and family in ("", s.family)]
        if len(found) == 1:
            return found[0]
        known = ", ".join(f"{s.family}/{i.name}" for s, i in self.items()) or "none"
        why = "is ambiguous" if found else "is not in the config"
        raise ConfigError(str(self.source), [Problem("", f"{name!r} {why} (known: {known})")])


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    """`--config`, else `$OPS_CONFIG`, else `./ops.toml`."""
    return Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_PATH)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate a config file; raises `ConfigError` listing every problem."""
    source = resolve_path(path)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        hint = f"pass --config PATH or set {CONFIG_ENV}"
        raise ConfigError(str(source), [Problem("", f"no such file ({hint})")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(source), [Problem("", f"cannot read the file: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(source), [Problem("", f"not valid TOML: {exc}")]) from None
    return parse_config(data, source)


def parse_config(data: Mapping[str, Any], source: Path) -> Config:
    """Validate already-parsed TOML data (`load_config` minus the reading)."""
    loader = Loader()
    known = {"stack", "targets", *(s.key for s in SECTIONS)}
    for key in sorted(set(data) - known):
        loader.problem(key, unknown_key(key, sorted(known), "section"))
    stack = loader.load(StackConfig, data.get("stack"), "stack") if "stack" in data else None
    if "stack" not in data:
        loader.problem("stack", "missing required table [stack] (it needs at least `name`)")
    sections = {s.key: _load_section(loader, s, data.get(s.key)) for s in SECTIONS}
    targets = _load_targets(loader, data)
    if loader.problems or stack is None:
        raise ConfigError(str(source), loader.problems)
    config = Config(source=source, stack=stack, sections=sections, targets=targets)
    _check_names(config, loader)
    for section in SECTIONS:
        if section.cross_check:
            section.cross_check(config.sections.get(section.key, ()), stack, loader)
        if section.config_check:
            section.config_check(config, loader)
    if loader.problems:
        raise ConfigError(str(source), loader.problems)
    return config


def _load_targets(loader: Loader, data: Mapping[str, Any]) -> Targets | None:
    """`[targets]` (for `ops apply --org`), with the checks across its keys."""
    if "targets" not in data:
        return None
    targets = loader.load(Targets, data["targets"], "targets")
    if targets is not None:
        check_targets(targets, loader)
    return targets


def _load_section(loader: Loader, section: Section, data: Any) -> tuple[Any, ...]:
    if data is None:
        return ()
    if not section.many:
        item = _load_item(loader, section, data, section.key)
        return () if item is None else (item,)
    if not isinstance(data, list):
        loader.problem(section.key, f"expected an array of tables: [[{section.key}]]")
        return ()
    items = [_load_item(loader, section, d, f"{section.key}[{i}]") for i, d in enumerate(data)]
    return tuple(i for i in items if i is not None)


def _load_item(loader: Loader, section: Section, data: Any, path: str) -> Any:
    if section.variants:
        return loader.load_variant(section.variants, data, path, section.discriminator)
    assert section.model is not None, f"section {section.key} declares no model"
    return loader.load(section.model, data, path)


def _check_names(config: Config, loader: Loader) -> None:
    """Duplicate names, over-long function names and colliding logical ids."""
    seen: dict[str, str] = {}
    for section in SECTIONS:
        for index, item in enumerate(config.sections.get(section.key, ())):
            path = f"{section.key}[{index}].name" if section.many else f"{section.key}.name"
            lid = logical_id(section.family, item.name)
            if lid in seen:
                loader.problem(path, f"{item.name!r} clashes with {seen[lid]} (names must differ)")
                continue
            seen[lid] = path
            fname = config.function_name(section, item)
            if len(fname) > MAX_FUNCTION_NAME:
                loader.problem(
                    path,
                    f"the function name {fname!r} would be {len(fname)} characters; Lambda allows "
                    f"{MAX_FUNCTION_NAME}: shorten the name or stack.name",
                )
