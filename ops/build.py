"""Build a `[[function]]`'s zip as `sam build` would, but deterministically.

The zip holds the code folder, the `ops_config` helper (parameters and secrets at run time) and,
when `requirements` is set, its dependencies installed by pip for the function's Lambda platform:
manylinux wheels for its architecture and Python, never an sdist (`--only-binary=:all:`), so what
runs locally is never compiled for the wrong machine. Entries are sorted, timestamps fixed and
machine-specific files dropped (console scripts with a local shebang, pip's RECORD and
direct_url.json), so the same input gives the same bytes on every machine.

The S3 key is the hash of the *input* (the code folder's files, the requirements file, runtime,
architecture and this builder's format), so `ops render` needs no pip and no network; pin exact
versions (`name==1.2.3`, best with `--hash`) so that the same input also means the same
dependencies. Built zips are cached locally by that key (`$OPS_BUILD_CACHE`, default
`~/.cache/ops/builds`): an unchanged function is built once, and `ops apply` uploads only keys
the artifact bucket does not have. pip reads its usual environment (`PIP_INDEX_URL`,
`PIP_NO_INDEX`, `PIP_FIND_LINKS`), so a private index or an offline wheel folder works as is.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.errors import ConfigError, OpsError, Problem
from ops.models.user_function import UserFunction, code_folder, requirements_file
from ops.package import SOURCE_ROOT, zip_entries

FORMAT = "ops-build-1"  # change when what goes into a zip changes, so keys change too
HELPER = SOURCE_ROOT / "user_config.py"
HELPER_NAME = "ops_config.py"
CACHE_ENV = "OPS_BUILD_CACHE"
SKIP_PARTS = {"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
# Lambda's Python runtimes: Amazon Linux 2 (glibc 2.26) for 3.11, Amazon Linux 2023 (2.34) after.
GLIBC = {"python3.11": (17, 26), "python3.12": (17, 34), "python3.13": (17, 34)}
MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}
# Installed files that differ between machines or runs and that nothing at run time reads.
DROP_DIST_INFO = ("RECORD", "direct_url.json", "REQUESTED")


@dataclass(frozen=True)
class Built:
    """A function's zip, where it came from and how long building it took."""

    function: str
    key: str
    path: Path
    size: int
    seconds: float
    cached: bool


def cache_dir() -> Path:
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ops" / "builds"
    return Path(root)


def source_files(folder: Path) -> dict[str, Path]:
    """The code folder's files by archive path (caches, VCS folders and .pyc left out)."""
    return {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not SKIP_PARTS & set(p.relative_to(folder).parts) and p.suffix != ".pyc"
    }


def source_key(config: Any, fn: UserFunction) -> str:
    """`user/<name>/<sha256 of the input>.zip`; remembers how to build it for `zip_for_key`."""
    digest = hashlib.sha256(f"{FORMAT}\0{_runtime(config, fn)}\0{fn.architecture}\0".encode())
    for name, path in source_files(code_folder(config, fn)).items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    digest.update(b"executable\0" + "\0".join(sorted(_executables(config, fn))).encode())
    digest.update(b"helper\0" + hashlib.sha256(HELPER.read_bytes()).digest())
    requirements = requirements_file(config, fn)
    if requirements is not None:
        digest.update(b"requirements\0" + hashlib.sha256(requirements.read_bytes()).digest())
    key = f"user/{fn.name}/{digest.hexdigest()}.zip"
    _RECIPES[key] = (config, fn)
    return key


_RECIPES: dict[str, tuple[Any, UserFunction]] = {}


def build(config: Any, fn: UserFunction, index: int = 0) -> Built:
    """The function's zip, from the cache when its input has been built before."""
    started = time.perf_counter()
    key = source_key(config, fn)
    path = cache_dir() / key
    if path.is_file():
        return Built(fn.name, key, path, path.stat().st_size, time.perf_counter() - started, True)
    data = zip_entries(collect(config, fn, index), _executables(config, fn))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.replace(path)  # atomic: a concurrent build of the same key writes the same bytes
    return Built(fn.name, key, path, len(data), time.perf_counter() - started, False)


def zip_for_key(key: str) -> bytes:
    """The zip a rendered template's `user/...` key names (built now if not cached)."""
    path = cache_dir() / key
    if not path.is_file():
        if key not in _RECIPES:
            raise OpsError(f"no build for {key}: render the config first (ops render/apply)")
        config, fn = _RECIPES[key]
        path = build(config, fn, list(config.function).index(fn)).path
    return path.read_bytes()


def collect(config: Any, fn: UserFunction, index: int) -> list[tuple[str, bytes]]:
    """Every entry of the zip, sorted: dependencies, then the code (which wins on a clash)."""
    entries: dict[str, bytes] = {}
    requirements = requirements_file(config, fn)
    if requirements is not None:
        where = (str(config.source), f"function[{index}].requirements")
        entries.update(install(requirements, _runtime(config, fn), fn.architecture, where))
    entries[HELPER_NAME] = HELPER.read_bytes()
    for name, path in source_files(code_folder(config, fn)).items():
        entries[name] = path.read_bytes()
    return sorted(entries.items())


def install(
    requirements: Path, runtime: str, architecture: str, where: tuple[str, str]
) -> Mapping[str, bytes]:
    """pip install -r requirements for Lambda's platform into a temporary folder: its files."""
    with tempfile.TemporaryDirectory(prefix="ops-build-") as target:
        run = subprocess.run(
            pip_command(requirements, runtime, architecture, target),
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            raise _pip_error(run.stderr, requirements, runtime, architecture, where)
        root = Path(target)
        return {name: path.read_bytes() for name, path in source_files(root).items() if _keep(name)}


def pip_command(requirements: Path, runtime: str, architecture: str, target: str) -> list[str]:
    version = runtime.removeprefix("python")
    abi = "cp" + version.replace(".", "")
    platforms = [f"--platform={tag}" for tag in platform_tags(runtime, architecture)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # no .pyc: they embed paths and times, and Lambda compiles on import
        "--only-binary=:all:",
        "--implementation=cp",
        f"--python-version={version}",
        f"--abi={abi}",
        "--abi=abi3",
        "--abi=none",
        *platforms,
        f"--target={target}",
        "-r",
        str(requirements),
    ]


def platform_tags(runtime: str, architecture: str) -> list[str]:
    """The manylinux tags Lambda's glibc runs, newest first (pip takes any of them)."""
    machine = MACHINE[architecture]
    low, high = GLIBC.get(runtime, GLIBC["python3.13"])
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(high, low - 1, -1)]
    return [*tags, f"manylinux2014_{machine}"]


def _keep(name: str) -> bool:
    parts = name.split("/")
    if parts[0] == "bin":  # console scripts: their shebang is this machine's python
        return False
    return not (len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in DROP_DIST_INFO)


def _pip_error(
    stderr: str, requirements: Path, runtime: str, architecture: str, where: tuple[str, str]
) -> ConfigError:
    """pip's refusal as a config error naming the dependency that has no wheel."""
    missing = re.search(r"satisfies the requirement ([^\s;]+)", stderr)
    if missing:
        message = (
            f"{missing.group(1)} has no wheel for Lambda {runtime} on {architecture} "
            f"({MACHINE[architecture]} manylinux) in the index pip uses: pick a version that "
            "publishes one, or build the wheel yourself and point PIP_FIND_LINKS at it"
        )
    else:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        message = f"pip could not install {requirements.name}: {' '.join(lines[-3:])[:600]}"
    return ConfigError(where[0], [Problem(where[1], message)])


def _runtime(config: Any, fn: UserFunction) -> str:
    return str(fn.runtime or config.stack.runtime)


def _executables(config: Any, fn: UserFunction) -> set[str]:
    files = source_files(code_folder(config, fn))
    return {name for name, path in files.items() if path.stat().st_mode & 0o100}


def unpacked(config: Any, fn: UserFunction, index: int = 0) -> Path:
    """The build extracted as Lambda extracts it into /var/task (for `ops invoke`)."""
    import zipfile

    built = build(config, fn, index)
    folder = cache_dir() / "unpacked" / built.key.removesuffix(".zip")
    if not folder.is_dir():
        partial = folder.with_name(f"{folder.name}.{os.getpid()}.partial")
        with zipfile.ZipFile(built.path) as archive:
            archive.extractall(partial)
        partial.replace(folder)
    return folder
