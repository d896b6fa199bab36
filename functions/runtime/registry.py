"""A family's per-kind modules, found by name: the module for `lambda-versions` in
`functions.purge` is `functions.purge.lambda_versions`, which declares
`TARGET = "lambda-versions"`.

So adding a purge target or a responder action edits no table here: the new module is the
registration. A kind without such a module (or whose module declares another name) is an error,
never a silent fallback; tests/test_registries.py checks that these modules and the models and
templates in ops/ and templates/ name the same kinds.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

KIND = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def kind_module(package: str, kind: object, attribute: str) -> ModuleType:
    """The module of `package` for `kind`, which declares `attribute = kind`; ValueError for a
    kind no module declares."""
    if isinstance(kind, str) and KIND.fullmatch(kind):
        try:
            module = importlib.import_module(f"{package}.{kind.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{kind.replace('-', '_')}":
                raise  # the module exists; something it imports does not
        else:
            if getattr(module, attribute, None) == kind:
                return module
    raise ValueError(f"no module in {package} declares {attribute} = {kind!r}")
