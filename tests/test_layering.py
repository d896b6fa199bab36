"""docs/architecture.md's layering, enforced: which package may import which, and no circles.

Every import counts, wherever it is written: at module level, inside a function (a lazy import is
still an arrow) and under `TYPE_CHECKING` (a circle that only the type checker walks is still a
circle in the design). Imports are read from the source with `ast`, so nothing is executed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ops", "templates", "functions")
# The two places in ops/ that must reach function code: packaging zips `functions/` (it finds
# the folder through the package) and `ops invoke` runs a handler in-process with its clients.
FUNCTION_CODE_READERS = {"ops.package", "ops.invoke"}
AWS_SDK = ("boto3", "botocore")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. ops.models.responder
    target: str  # what it imports, resolved to a module where the name is one
    line: int

    def __str__(self) -> str:
        return f"{self.module} (line {self.line}) imports {self.target}"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(root: Path = ROOT) -> dict[str, Path]:
    return {
        module_name(path, root): path
        for package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
    }


def imports(module: str, path: Path, known: set[str]) -> Iterator[Import]:
    """Every import of one module; `from pkg import sub` counts as importing `pkg.sub`."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.module, node.level)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield Import(module, candidate if candidate in known else base, node.lineno)


def _absolute(module: str, is_package: bool, name: str | None, level: int) -> str:
    if not level:
        return name or ""
    parts = module.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (level - 1)]
    return ".".join([*anchor, name] if name else anchor)


def project_imports(root: Path = ROOT) -> list[Import]:
    found = sources(root)
    known = set(found)
    return [imp for module, path in found.items() for imp in imports(module, path, known)]


def _under(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def layering_problems(found: list[Import]) -> list[str]:
    """What breaks the rules of docs/architecture.md, one line per import."""
    rules = [
        (lambda i: _under(i.module, "functions") and _under(i.target, "ops", "templates"),
         "functions/ never imports ops/ or templates/ (its zip carries functions/ alone)"),
        (lambda i: _under(i.module, "ops", "templates") and _under(i.target, "functions")
         and i.module not in FUNCTION_CODE_READERS,
         "only packaging and invoke reach function code from ops/ or templates/"),
        (lambda i: _under(i.module, "templates") and _under(i.target, *AWS_SDK),
         "templates/ never imports boto3 or botocore (rendering needs no AWS)"),
        (lambda i: not _under(i.module, "ops.cli") and _under(i.target, "click"),
         "nothing below ops/cli imports click"),
        (lambda i: _under(i.module, "ops.models") and _under(i.target, "ops.config"),
         "ops/models never imports ops.config (cross-checks take items and a problem sink)"),
    ]  # fmt: skip
    return [f"{imp}: {why}" for imp in found for test, why in rules if test(imp)]


def cycles(found: list[Import]) -> list[list[str]]:
    """Groups of modules that reach each other through imports (a module importing itself too)."""
    graph: dict[str, set[str]] = {}
    for imp in found:
        if _under(imp.target, *PACKAGES):
            graph.setdefault(imp.module, set()).add(imp.target)
    reach = {node: _reachable(graph, node) for node in graph}
    groups = {
        tuple(sorted(m for m in reach[node] if node in reach.get(m, ())))
        for node in graph
        if node in reach[node]
    }
    return [list(group) for group in sorted(groups)]


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def test_the_project_keeps_its_layers() -> None:
    assert layering_problems(project_imports()) == []


def test_the_project_has_no_import_circle() -> None:
    assert cycles(project_imports()) == []


def test_the_reader_sees_every_kind_of_import() -> None:
    """The checks above are only as good as the import reader: it must see lazy, relative and
    TYPE_CHECKING imports, or a test that cannot fail would pass."""
    found = {(i.module, i.target) for i in project_imports()}
    assert ("ops.invoke", "functions.runtime.aws") in found  # inside a function
    assert ("ops.cli", "ops.cli.context") in found
    assert len(found) > 200


def _tree(tmp_path: Path, files: dict[str, str]) -> list[Import]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for package in PACKAGES:
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    return project_imports(tmp_path)


@pytest.mark.parametrize(
    ("files", "rule"),
    [
        ({"functions/logs/x.py": "from ops.awslogs import encode\n"}, "functions/ never"),
        ({"functions/x.py": "def f():\n    import templates.common\n"}, "functions/ never"),
        ({"templates/x.py": "from functions.logs.decode import decode\n"}, "only packaging"),
        ({"ops/events.py": "def f():\n    from functions.logs import decode\n"}, "only packaging"),
        ({"templates/x.py": "import boto3\n"}, "templates/ never imports boto3"),
        ({"templates/x.py": "from botocore.config import Config\n"}, "templates/ never"),
        ({"ops/deploy/x.py": "import click\n"}, "below ops/cli"),
        ({"templates/x.py": "from click import echo\n"}, "below ops/cli"),
        (
            {
                "ops/models/x.py": (
                    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                    "    from ops.config import Config\n"
                )
            },
            "ops/models never imports ops.config",
        ),
        ({"ops/models/x.py": "from ..config import Config\n"}, "ops/models never"),
    ],
)
def test_each_rule_fails_on_its_import(tmp_path: Path, files: dict[str, str], rule: str) -> None:
    problems = layering_problems(_tree(tmp_path, files))
    assert len(problems) == 1 and rule in problems[0], problems


def test_allowed_imports_are_not_problems(tmp_path: Path) -> None:
    files = {
        "ops/package.py": "import functions\n",
        "ops/invoke.py": "def f():\n    from functions.runtime import aws\n",
        "ops/cli/x.py": "import click\nimport boto3\n",
        "templates/x.py": "from ops.models.common import StackConfig\n",
        "functions/x.py": "import boto3\nfrom functions.runtime import log\n",
    }
    assert layering_problems(_tree(tmp_path, files)) == []


def test_a_circle_is_found_even_under_type_checking(tmp_path: Path) -> None:
    files = {
        "ops/models/__init__.py": "",
        "ops/config.py": "from ops.models.x import check\n",
        "ops/models/x.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ops import config\n"
        ),
        "ops/a.py": "from . import b\n",
        "ops/b.py": "def f():\n    import ops.a\n",
        "ops/c.py": "import ops.a\n",
    }
    assert cycles(_tree(tmp_path, files)) == [["ops.a", "ops.b"], ["ops.config", "ops.models.x"]]
