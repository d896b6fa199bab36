"""Deterministic zips of the function code, keyed in S3 by the hash of their content.

A bundle is `functions/__init__.py`, the shared `functions/runtime/` and one family package
(`functions/purge/`...). Entries are sorted, timestamps fixed at 1980-01-01, permissions 0644, so
the same sources give the same bytes. The S3 key is the SHA-256 of the entries' names and contents
(not of the compressed bytes, which could differ between zlib builds), so unchanged code renders
the same key on every machine and changed code a new one.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable, Set
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import functions

SOURCE_ROOT = Path(functions.__file__).resolve().parent
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SHARED = ("__init__.py", "runtime")


@dataclass(frozen=True)
class Bundle:
    name: str
    files: tuple[tuple[str, bytes], ...]  # (archive path, content), sorted

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for path, data in self.files:
            digest.update(path.encode() + b"\0" + hashlib.sha256(data).digest())
        return digest.hexdigest()

    @property
    def key(self) -> str:
        return f"functions/{self.name}/{self.content_hash}.zip"

    def zip_bytes(self) -> bytes:
        return zip_entries(self.files)


def zip_entries(files: Iterable[tuple[str, bytes]], executable: Set[str] = frozenset()) -> bytes:
    """Deterministic zip bytes: entries as given (sorted by the caller), fixed time and modes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path, data in files:
            info = zipfile.ZipInfo(path, FIXED_TIME)
            info.external_attr = (0o100755 if path in executable else 0o100644) << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    return out.getvalue()


def zip_directory(folder: Path) -> bytes:
    """Any directory (`ops push --dir`), as deterministically as a bundle: every file under it
    except caches and VCS folders, sorted; files executable by their owner stay executable
    (a custom runtime's `bootstrap` needs it)."""
    skip = {"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
    paths = {
        p.relative_to(folder).as_posix(): p
        for p in folder.rglob("*")
        if p.is_file() and not skip & set(p.relative_to(folder).parts) and p.suffix != ".pyc"
    }
    files = [(name, paths[name].read_bytes()) for name in sorted(paths)]
    executable = {name for name, p in paths.items() if p.stat().st_mode & 0o100}
    return zip_entries(files, executable)


def bundle_names(root: Path = SOURCE_ROOT) -> list[str]:
    """Every family package under functions/."""
    return sorted(
        p.name for p in root.iterdir() if (p / "__init__.py").is_file() and p.name not in SHARED
    )


@cache
def build_bundle(name: str, root: Path = SOURCE_ROOT) -> Bundle:
    if not (root / name / "__init__.py").is_file():
        raise ValueError(f"no function package functions/{name}/")
    sources = [root / "__init__.py", *_python_files(root / "runtime"), *_python_files(root / name)]
    files = tuple(sorted((_archive_path(root, p), p.read_bytes()) for p in sources))
    return Bundle(name, files)


def _python_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.py") if "__pycache__" not in p.parts]


def _archive_path(root: Path, path: Path) -> str:
    return "functions/" + path.relative_to(root).as_posix()
