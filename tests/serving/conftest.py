"""Fixtures of the serving tests: a fake project (with and without its runtime), its page server, the real app."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving.builds import (
    BYTECODE_SCRIPT,
    PAGE_COMPILER,
    STDLIB_FALLBACK,
    STDLIB_MODULES,
    STDLIB_SCRIPT,
    ensure_stdlib,
)
from serving.runtime import RUNTIME_STAMP, ensure_runtime, versioned_runtime_dirs
from tests.serving.fakes import (
    INDEX_HTML,
    PINS,
    ROOT,
    TOML,
    Page,
    install_fake_packages,
    refuse_to_run,
    run_page,
    write,
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A tiny stand-in for the project with node_modules but no runtime/."""
    root = tmp_path / "repo"
    write(root / "package.json", json.dumps({"dependencies": PINS}))
    install_fake_packages(root)
    write(root / "index.html", INDEX_HTML)
    write(root / "pyscript.toml", TOML)
    write(root / "sw.js", (ROOT / "sw.js").read_text(encoding="utf-8"))  # the real template
    write(root / "app" / "main.py", "print('hi')\n")
    write(root / "app" / "storage.py", "KEY = 1\n")
    write(root / "app" / "__pycache__" / "main.cpython-311.pyc", "junk")
    write(root / "static" / "style.css", "body {}")
    write(root / "static" / "boot.js", "export {};")
    write(root / "static" / "data.json", "{}")
    write(root / "static" / ".hidden", "secret")
    write(root / "serve.py", "SECRET = 1")
    write(root / ".git" / "config", "[core]")
    write(root / "tests" / "test_x.py", "")
    return root


@pytest.fixture
def built_repo(repo: Path) -> Path:
    ensure_runtime(repo, run=refuse_to_run)
    ensure_stdlib(repo, run=refuse_to_run)  # no build script here: Pyodide's own zip, as serve.py serves it
    return repo


@pytest.fixture
def page(built_repo: Path) -> Iterator[Page]:
    yield from run_page(built_repo, "http://127.0.0.1:4567")


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    """The project's app and bytecode scripts, beside the real pinned runtime (built first)."""
    ensure_runtime(ROOT)
    root = tmp_path / "copy"
    shutil.copytree(ROOT / "app", root / "app", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "scripts").mkdir()
    for script in (BYTECODE_SCRIPT, STDLIB_SCRIPT, STDLIB_MODULES, STDLIB_FALLBACK, PAGE_COMPILER):
        shutil.copy(ROOT / script, root / script)
    (root / "runtime").mkdir()
    shutil.copy(ROOT / "runtime" / RUNTIME_STAMP, root / "runtime" / RUNTIME_STAMP)
    for name in versioned_runtime_dirs(ROOT / "runtime"):
        (root / "runtime" / name).symlink_to(ROOT / "runtime" / name)
    return root
