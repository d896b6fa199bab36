"""Turn plain TOML data into frozen dataclasses, collecting one `Problem` per thing wrong.

A model is a frozen dataclass. Its annotations say what each key takes (str, int, float, bool,
`Duration`, `Literal[...]`, `list[X]`, `dict[str, X]`, `X | None`, another model, or a model
or one other type, as in `str | Replica`: a table loads the model); a field's
metadata may add a `check` (value -> error text or None) and a `doc`. Keys are the field names
with `_` as in TOML. Unknown keys, missing keys and wrong types are reported with their key path,
for example `purge[0].schedule`, so a user sees every problem of a file at once.

Families whose tables take different keys by a discriminator (`[[purge]] target = "s3"`) are
loaded with `load_variant`.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, TypeVar, get_args, get_origin, get_type_hints

from ops.errors import Problem

T = TypeVar("T")
Check = Callable[[Any], "str | None"]

_MISSING = object()


class Duration(int):
    """A duration in whole seconds, written in config as `30s`, `15m`, `1h` or `7d`."""

    UNITS: typing.ClassVar[dict[str, int]] = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    _PATTERN = re.compile(r"^([1-9][0-9]*)([smhd])$")

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = cls._PATTERN.match(text.strip())
        if not match:
            raise ValueError(f"expected a duration like 30s, 15m, 1h or 7d, got {text!r}")
        return cls(int(match.group(1)) * cls.UNITS[match.group(2)])

    def __str__(self) -> str:
        for unit, size in sorted(self.UNITS.items(), key=lambda kv: -kv[1]):
            if self % size == 0:
                return f"{self // size}{unit}"
        raise AssertionError("unreachable: seconds divide every duration")


def setting(default: Any = _MISSING, *, check: Check | None = None, doc: str = "") -> Any:
    """A model field with an optional default, a value check and a line of documentation."""
    metadata = {"check": check, "doc": doc}
    if default is _MISSING:
        return dataclasses.field(metadata=metadata)
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


class ProblemSink(Protocol):
    """Where a check records what is wrong: a key path and what was expected (`Loader` is one).

    Cross-item checks in `ops/models` take their section's items and a sink, never the whole
    `Config`: the models know nothing of the loader that builds them."""

    def problem(self, path: str, message: str) -> None: ...


class Loader:
    """Collects problems while building models; one instance per config file."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def load(self, cls: type[T], data: Any, path: str) -> T | None:
        """Build `cls` from a TOML table; None (with problems recorded) when it cannot be built."""
        if not isinstance(data, Mapping):
            self.problem(path, f"expected a table, got {_kind(data)}")
            return None
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        ok = True
        for key in sorted(set(data) - set(fields)):
            self.problem(_join(path, key), unknown_key(str(key), sorted(fields)))
            ok = False
        values: dict[str, Any] = {}
        for name, field in fields.items():
            if name not in data:
                if _required(field):
                    self.problem(_join(path, name), "missing required key")
                    ok = False
                continue
            value = self.convert(hints[name], data[name], _join(path, name))
            if value is _MISSING:
                ok = False
                continue
            check = field.metadata.get("check")
            message = check(value) if check and value is not None else None
            if message:
                self.problem(_join(path, name), message)
                ok = False
                continue
            values[name] = value
        return cls(**values) if ok else None

    def load_variant(
        self, variants: Mapping[str, type[T]], data: Any, path: str, key: str
    ) -> T | None:
        """Build the model that `data[key]` names among `variants`."""
        if not isinstance(data, Mapping):
            self.problem(path, f"expected a table, got {_kind(data)}")
            return None
        choice = data.get(key)
        if not isinstance(choice, str) or choice not in variants:
            expected = " or ".join(repr(v) for v in sorted(variants))
            got = "nothing" if choice is None else repr(choice)
            self.problem(_join(path, key), f"expected {expected}, got {got}")
            return None
        return self.load(variants[choice], data, path)

    def convert(self, hint: Any, value: Any, path: str) -> Any:
        """Check `value` against the annotation `hint`; the converted value, or _MISSING."""
        origin, args = get_origin(hint), get_args(hint)
        if origin in (typing.Union, types.UnionType):
            inner = [a for a in args if a is not type(None)]
            return self.convert(_by_kind(inner, value), value, path) if inner else value
        if origin is Literal:
            if value in args:
                return value
            return self._wrong(path, " or ".join(repr(a) for a in args), value)
        if origin in (list, tuple):
            if not isinstance(value, list):
                return self._wrong(path, "a list", value)
            items = [self.convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value)]
            return _MISSING if _MISSING in items else tuple(items)
        if origin in (dict, Mapping):
            return self._convert_table(args[1], value, path)
        if dataclasses.is_dataclass(hint):
            loaded = self.load(hint, value, path)  # type: ignore[arg-type]
            return _MISSING if loaded is None else loaded
        return self._convert_scalar(hint, value, path)

    def _convert_table(self, hint: Any, value: Any, path: str) -> Any:
        if not isinstance(value, Mapping):
            return self._wrong(path, "a table", value)
        items = {str(k): self.convert(hint, v, _join(path, str(k))) for k, v in value.items()}
        return _MISSING if _MISSING in items.values() else dict(sorted(items.items()))

    def _convert_scalar(self, hint: Any, value: Any, path: str) -> Any:
        if hint is Duration:
            if not isinstance(value, str):
                return self._wrong(path, "a duration string like '1h'", value)
            try:
                return Duration.parse(value)
            except ValueError as exc:
                self.problem(path, str(exc))
                return _MISSING
        if hint is bool:
            return value if isinstance(value, bool) else self._wrong(path, "true or false", value)
        if hint is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
            return value if ok else self._wrong(path, "a whole number", value)
        if hint is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            return float(value) if ok else self._wrong(path, "a number", value)
        if hint is str:
            return value if isinstance(value, str) else self._wrong(path, "a string", value)
        if hint is Any:
            return value
        raise TypeError(f"schema: unsupported annotation {hint!r} at {path}")

    def _wrong(self, path: str, expected: str, value: Any) -> Any:
        self.problem(path, f"expected {expected}, got {_kind(value)} {value!r}"[:200])
        return _MISSING


def unknown_key(key: str, known: list[str], kind: str = "key") -> str:
    """The message for an unknown key (or section): the known one it is probably a typo of,
    and all it may be."""
    close = difflib.get_close_matches(key.replace("-", "_").lower(), known, n=1, cutoff=0.7)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown {kind} ({hint}known {kind}s: {', '.join(known)})"


def _by_kind(choices: list[Any], value: Any) -> Any:
    """The member of a union (`str | Replica`) that a value of this kind is loaded as: a table
    loads the model, anything else the first member that is not one; a lone member is itself."""
    if len(choices) == 1:
        return choices[0]
    models = [c for c in choices if dataclasses.is_dataclass(c)]
    others = [c for c in choices if not dataclasses.is_dataclass(c)]
    if len(models) != 1 or len(others) != 1:
        raise TypeError(f"schema: a union takes one model and one other type, got {choices!r}")
    return models[0] if isinstance(value, Mapping) else others[0]


def _required(field: dataclasses.Field[Any]) -> bool:
    no_default = field.default is dataclasses.MISSING
    return no_default and field.default_factory is dataclasses.MISSING


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return kinds.get(type(value), type(value).__name__)


# Reusable checks -------------------------------------------------------------------------------

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def check_name(value: str) -> str | None:
    """Names of jobs, processors…: they become logical ids and part of function names."""
    if len(value) > 40 or not _NAME.match(value):
        return (
            "expected lowercase letters, digits and single hyphens, starting with a letter, "
            f"at most 40 characters, got {value!r}"
        )
    return None


def check_bucket(value: str) -> str | None:
    """S3 bucket naming rules (general purpose buckets)."""
    bad = (
        not _BUCKET.match(value)
        or ".." in value
        or ".-" in value
        or "-." in value
        or _IPV4.match(value)
        or value.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        or value.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3"))
    )
    if bad:
        return (
            "expected a valid S3 bucket name (3-63 characters: lowercase letters, digits, "
            f"dots and hyphens, starting and ending with a letter or digit), got {value!r}"
        )
    return None


def check_range(low: float, high: float) -> Check:
    def check(value: float) -> str | None:
        if not low <= value <= high:
            return f"expected a value from {low:g} to {high:g}, got {value!r}"
        return None

    return check


def check_one_of(*allowed: Any) -> Check:
    def check(value: Any) -> str | None:
        if value not in allowed:
            return f"expected one of {', '.join(map(str, allowed))}, got {value!r}"
        return None

    return check
