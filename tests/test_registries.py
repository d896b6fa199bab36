"""The kinds of purge target and responder action, named in three places that cannot import
each other, name the same set: the model (`ops/models`), the IAM statements its function gets
(`templates/`), and the function module that runs it (`functions/`, found by name through
`functions.runtime.registry`). Each check is run on the real registries and on one lacking a
key, which must fail and say which key and where."""

from __future__ import annotations

import pkgutil
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from importlib import import_module
from typing import Any, Literal

import pytest

from functions.runtime.registry import kind_module
from ops.models.purge import PURGE_TARGETS, PurgeJob
from ops.models.responder import NATIVE_ACTIONS, RESPONDER_ACTIONS, Responder
from ops.schema import Duration, setting
from templates.purge import target_statements
from templates.responders import action_statements

PURGE = "functions.purge"
ACTIONS = "functions.responders.actions"


def declared(package: str, attribute: str) -> set[str]:
    """The kinds the package's modules declare (`TARGET = "s3"`)."""
    found = set()
    for info in pkgutil.iter_modules(import_module(package).__path__):
        kind = getattr(import_module(f"{package}.{info.name}"), attribute, None)
        if kind is not None:
            found.add(kind)
    return found


def literal_kinds(model: type, key: str) -> tuple[str, ...]:
    [field] = [f for f in fields(model) if f.name == key]
    hint = typing.get_type_hints(model)[field.name]
    return typing.get_args(hint) if typing.get_origin(hint) is Literal else ()


def problems(
    models: Mapping[str, type],
    key: str,
    statements: Any,
    base: type,
    package: str,
    attribute: str,
    entry: str,
) -> list[str]:
    found = []
    for kind, model in sorted(models.items()):
        if kind not in literal_kinds(model, key):
            found.append(f"{kind}: its model {model.__name__} does not declare {key} = {kind!r}")
        if statements.dispatch(model) is statements.dispatch(base):
            found.append(f"{kind}: templates register no IAM statements for {model.__name__}")
        try:
            module = kind_module(package, kind, attribute)
        except ValueError as exc:
            found.append(f"{kind}: {exc}")
        else:
            if not callable(getattr(module, entry, None)):
                found.append(f"{kind}: {module.__name__} has no {entry}()")
    for kind in sorted(declared(package, attribute) - set(models)):
        found.append(f"{kind}: {package} runs it, but no model in ops/models takes it")
    return found


def purge_problems(targets: Mapping[str, type[PurgeJob]]) -> list[str]:
    return problems(targets, "target", target_statements, PurgeJob, PURGE, "TARGET", "run")


def responder_problems(actions: Mapping[str, type[Responder]]) -> list[str]:
    with_function = {k: v for k, v in actions.items() if k not in NATIVE_ACTIONS}
    return problems(
        with_function, "action", action_statements, Responder, ACTIONS, "ACTION", "plan"
    )


@dataclass(frozen=True, kw_only=True)
class UnknownPurge(PurgeJob):
    target: Literal["unknown"] = setting(doc="a target only this test has")


@dataclass(frozen=True, kw_only=True)
class UnknownResponder(Responder):
    action: Literal["unknown"] = setting(doc="an action only this test has")


CHECKS: list[tuple[Callable[[Any], list[str]], Mapping[str, type]]] = [
    (purge_problems, PURGE_TARGETS),
    (responder_problems, RESPONDER_ACTIONS),
]


@pytest.mark.parametrize(("check", "registry"), CHECKS)
def test_every_registry_names_the_same_kinds(
    check: Callable[[Any], list[str]], registry: Mapping[str, type]
) -> None:
    assert check(registry) == []


@pytest.mark.parametrize(("check", "registry"), CHECKS)
def test_a_model_registry_lacking_a_kind_the_functions_run_fails(
    check: Callable[[Any], list[str]], registry: Mapping[str, type]
) -> None:
    dropped = sorted(set(registry) - set(NATIVE_ACTIONS))[0]
    without = {k: v for k, v in registry.items() if k != dropped}
    assert check(without) == [
        f"{dropped}: {PURGE if check is purge_problems else ACTIONS} runs "
        "it, but no model in ops/models takes it"
    ]


@pytest.mark.parametrize(
    ("check", "registry", "model"),
    [
        (purge_problems, PURGE_TARGETS, UnknownPurge),
        (responder_problems, RESPONDER_ACTIONS, UnknownResponder),
    ],
)
def test_a_model_without_statements_or_function_fails(
    check: Callable[[Any], list[str]], registry: Mapping[str, type], model: type
) -> None:
    found = check({**registry, "unknown": model})
    assert found == [
        f"unknown: templates register no IAM statements for {model.__name__}",
        f"unknown: no module in {PURGE if check is purge_problems else ACTIONS} declares "
        f"{'TARGET' if check is purge_problems else 'ACTION'} = 'unknown'",
    ]


def test_a_model_filed_under_another_kind_fails() -> None:
    swapped = {**PURGE_TARGETS, "s3": PURGE_TARGETS["log-streams"]}
    assert purge_problems(swapped) == [
        "s3: its model LogStreamsPurge does not declare target = 's3'"
    ]


def test_lookups_are_strict_at_render_and_at_run_time() -> None:
    with pytest.raises(TypeError, match="no IAM statements for purge target 'unknown'"):
        hourly = {"schedule": "rate(1 hour)", "older_than": Duration(60)}
        target_statements(UnknownPurge(name="x", target="unknown", **hourly))
    with pytest.raises(ValueError, match="declares TARGET = 'handler'"):
        kind_module(PURGE, "handler", "TARGET")  # a module, but not a target
    with pytest.raises(ValueError, match="declares ACTION = 'ec2-reboot'"):
        kind_module(ACTIONS, "ec2-reboot", "ACTION")  # native: CloudWatch does it, no function
