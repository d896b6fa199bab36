"""Function zips: deterministic bytes, only our code, content-hash keys."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

from ops.package import SOURCE_ROOT, build_bundle, bundle_names


def copy_sources(tmp_path: Path) -> Path:
    root = tmp_path / "functions"
    shutil.copytree(SOURCE_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_same_sources_same_bytes_and_key(tmp_path: Path) -> None:
    root = copy_sources(tmp_path)
    original = build_bundle("purge")
    copy = build_bundle("purge", root)
    assert copy.zip_bytes() == original.zip_bytes()
    assert copy.key == original.key


def test_changed_code_changes_the_key(tmp_path: Path) -> None:
    root = copy_sources(tmp_path)
    before = build_bundle("purge", root).key
    (root / "purge" / "handler.py").write_text(
        (root / "purge" / "handler.py").read_text() + "\n# x\n"
    )
    build_bundle.cache_clear()
    assert build_bundle("purge", root).key != before


def test_zip_holds_only_our_python_with_fixed_metadata() -> None:
    with zipfile.ZipFile(io.BytesIO(build_bundle("purge").zip_bytes())) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert "functions/__init__.py" in names and "functions/purge/handler.py" in names
    assert "functions/runtime/log.py" in names
    assert all(n.endswith(".py") for n in names)
    assert not any(n.startswith(("ops/", "templates/", "tests/")) for n in names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_every_family_package_is_a_bundle() -> None:
    assert "purge" in bundle_names()
    assert "runtime" not in bundle_names()
