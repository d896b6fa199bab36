"""Typed, read-only views of a function's job: a frozen dataclass built from `$OPS_JOB`.

A family declares its settings once as a frozen dataclass and its handler calls
`parse(View, job)` (or `View.from_job(job)` through `JobView`) on `settings.job()`; the code
below takes the view, never the dict. Each field is read by name and its type checked against
the annotation: `str`, `int`, `float` (an integer too), `bool`, `timedelta` (whole seconds, as
`ops` renders a duration), `tuple[str, ...]` (a JSON list), `Mapping[str, X]` / `dict` (a JSON
object), `Literal[...]`, and `X | None`; a field with a default may be left out. A check of its
own goes in the field's metadata (`check(fn)`: an error string or None).

Every wrong or missing key is named in one `SettingsError` ("$OPS_JOB: max_deletes must be an
integer or null, got "ten""), so a bad deploy says all that is wrong at once. Keys the view does
not know are ignored: a newer `ops` may render a key an older function does not read yet.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Self, TypeVar, Union

from functions.runtime.settings import JOB_ENV, SettingsError

T = TypeVar("T")
Check = Callable[[Any], "str | None"]
_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    timedelta: "a whole number of seconds",
}


class _Wrong(Exception):
    """The value does not have the annotated type."""


def check(fn: Check) -> dict[str, Check]:
    """A field's metadata running `fn` on its value once it has the right type."""
    return {"check": fn}


def positive(value: Any) -> str | None:
    """A number or duration above zero."""
    return None if value is None or value > type(value)() else "must be greater than 0"


def not_empty(value: Any) -> str | None:
    return None if value else "must not be empty"


def parse(cls: type[T], job: Mapping[str, Any]) -> T:
    """`cls` (a dataclass) from `job`'s keys; one `SettingsError` naming every bad key."""
    if not isinstance(job, Mapping):
        raise SettingsError(f"${JOB_ENV} must be a JSON object, got {_shown(job)}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not item.init:
            continue
        hint = hints[item.name]
        if item.name not in job:
            if not _has_default(item):
                problems.append(f"{item.name} is missing (expected {describe(hint)})")
            continue
        raw = job[item.name]
        try:
            values[item.name] = _convert(hint, raw)
        except _Wrong:
            problems.append(f"{item.name} must be {describe(hint)}, got {_shown(raw)}")
            continue
        said = item.metadata.get("check", _no_check)(values[item.name])
        if said:
            problems.append(f"{item.name} {said}, got {_shown(raw)}")
    if problems:
        raise SettingsError(f"${JOB_ENV}: " + "; ".join(problems))
    return cls(**values)


def kind(job: Mapping[str, Any], key: str) -> str:
    """The string under `key` that picks a family's module and so its view (a purge job's
    `target`, a responder's or log processor's `action`), read as `parse` reads a field."""
    return str(getattr(parse(_kind_view(key), job), key))


@functools.cache
def _kind_view(key: str) -> type:
    return dataclasses.make_dataclass("Kind", [(key, str)], frozen=True)


class JobView:
    """A mixin for a view dataclass: `View.from_job(job)` is `parse(View, job)`."""

    @classmethod
    def from_job(cls, job: Mapping[str, Any]) -> Self:
        return parse(cls, job)


def describe(hint: Any) -> str:
    """What a value of `hint` looks like in JSON, for a message."""
    optional, inner = _optional(hint)
    if optional:
        return f"{describe(inner)} or null"
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return "one of " + ", ".join(json.dumps(v) for v in typing.get_args(hint))
    if origin is tuple:
        return f"a list of {_plural(typing.get_args(hint)[0])}"
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        return "an object"
    if hint is Any:
        return "any value"
    return _NAMES.get(hint, getattr(hint, "__name__", str(hint)))


def _convert(hint: Any, value: Any) -> Any:
    optional, inner = _optional(hint)
    if optional:
        return None if value is None else _convert(inner, value)
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return _literal(typing.get_args(hint), value)
    if origin is tuple:
        return _tuple(typing.get_args(hint), value)
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        return _mapping(typing.get_args(hint), value)
    if hint is Any:
        return value
    return _scalar(hint, value)


def _scalar(hint: Any, value: Any) -> Any:
    if hint not in _SCALARS:
        raise TypeError(f"a job view cannot read {hint!r}")
    accepts, make = _SCALARS[hint]
    if not accepts(value):
        raise _Wrong
    return make(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _same(value: Any) -> Any:
    return value


# annotation -> (which JSON values it takes, the value the view holds)
_SCALARS: dict[Any, tuple[Callable[[Any], bool], Callable[[Any], Any]]] = {
    bool: (lambda v: isinstance(v, bool), _same),
    int: (_whole, _same),
    float: (lambda v: _whole(v) or isinstance(v, float), float),
    str: (lambda v: isinstance(v, str), _same),
    timedelta: (_whole, lambda v: timedelta(seconds=v)),
}


def _literal(allowed: tuple[Any, ...], value: Any) -> Any:
    if any(value == a and type(value) is type(a) for a in allowed):
        return value
    raise _Wrong


def _tuple(args: tuple[Any, ...], value: Any) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple) or len(args) != 2 or args[1] is not Ellipsis:
        raise _Wrong
    return tuple(_convert(args[0], v) for v in value)


def _mapping(args: tuple[Any, ...], value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _Wrong
    inner = args[1] if len(args) == 2 else Any
    return {k: _convert(inner, v) for k, v in value.items()}


def _optional(hint: Any) -> tuple[bool, Any]:
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return True, args[0]
        raise TypeError(f"a job view reads X | None, not {hint!r}")
    return False, hint


def _plural(hint: Any) -> str:
    return {str: "strings", int: "integers", float: "numbers"}.get(hint, describe(hint))


def _has_default(item: dataclasses.Field[Any]) -> bool:
    return (
        item.default is not dataclasses.MISSING or item.default_factory is not dataclasses.MISSING
    )


def _no_check(value: Any) -> str | None:
    return None


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
