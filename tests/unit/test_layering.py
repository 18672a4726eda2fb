"""The logic runs under CPython: only the adapter, the view and main may import the browser."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
BROWSER_MODULES = {"js", "pyodide", "pyscript"}
ALLOWED = {"browser.py", "main.py"}  # and the view package, app/view/


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted(p for p in APP.glob("*.py") if p.name not in ALLOWED), ids=lambda p: p.name)
def test_logic_module_imports_nothing_from_the_browser(path: Path) -> None:
    assert imported_roots(path) & BROWSER_MODULES == set()


def test_every_app_module_is_shipped_to_the_browser() -> None:
    toml = (APP.parent / "pyscript.toml").read_text(encoding="utf-8")
    for path in [*APP.glob("*.py"), *APP.glob("view/*.py")]:
        if path.name != "main.py":
            name = path.relative_to(APP).as_posix()
            assert f'"./app/{name}" = "./app/{name}"' in toml, name


def test_index_html_lists_exactly_the_python_pyscript_fetches() -> None:
    """pyodide-snapshot.mjs preloads index.html's list: [files] and main.py, which PyScript fetches late."""
    toml = tomllib.loads((APP.parent / "pyscript.toml").read_text(encoding="utf-8"))
    html = (APP.parent / "index.html").read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="python-files">(.*?)</script>', html, re.S)
    assert block is not None
    assert sorted(json.loads(block.group(1))) == sorted([*toml["files"], "./app/main.py"])
