"""The logic runs under CPython: only the adapter, the view and main may import the browser.

"Browser module" has one definition, app/snapshot.py's (the snapshot leaves out what
imports one); this test holds every other file of the app package to it, sub-packages too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.snapshot import BROWSER_MODULES, imports_browser

APP = Path(__file__).resolve().parents[2] / "app"
# May import the browser: these files of app/, and every file under these sub-packages.
ALLOWED_FILES = {"browser.py", "main.py"}
ALLOWED_PACKAGES = {"view"}


def may_import_browser(relative: Path) -> bool:
    """Whether the app file at ``relative`` (a path under app/) may import a browser module."""
    parts = relative.parts
    return (len(parts) == 1 and parts[0] in ALLOWED_FILES) or (len(parts) > 1 and parts[0] in ALLOWED_PACKAGES)


def logic_modules(app: Path) -> list[Path]:
    """Every Python file under ``app`` (sub-packages included) that must not import the browser."""
    files = (p for p in app.rglob("*.py") if "__pycache__" not in p.parts)
    return sorted(p for p in files if not may_import_browser(p.relative_to(app)))


@pytest.mark.parametrize("path", logic_modules(APP), ids=lambda p: p.relative_to(APP).as_posix())
def test_logic_module_imports_nothing_from_the_browser(path: Path) -> None:
    assert not imports_browser(path.read_bytes())


def test_the_definition_covers_the_three_browser_packages() -> None:
    assert {"js", "pyodide", "pyscript"} <= BROWSER_MODULES


def test_a_browser_import_in_a_new_sub_folder_is_caught(tmp_path: Path) -> None:
    (tmp_path / "logic" / "deep").mkdir(parents=True)
    (tmp_path / "logic" / "deep" / "rules.py").write_text("def f():\n    from pyodide.ffi import to_js\n")
    (tmp_path / "view").mkdir()
    (tmp_path / "view" / "widget.py").write_text("import js\n")
    (tmp_path / "api.py").write_text("import json\n")
    checked = logic_modules(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in checked] == ["api.py", "logic/deep/rules.py"]
    assert [imports_browser(p.read_bytes()) for p in checked] == [False, True]


@pytest.mark.parametrize(
    ("relative", "allowed"),
    [
        ("browser.py", True),
        ("main.py", True),
        ("view/__init__.py", True),
        ("view/parts/list.py", True),
        ("viewer.py", False),
        ("view_helpers.py", False),
        ("views/list.py", False),
        ("logic/view/list.py", False),
        ("logic/browser.py", False),
        ("sub/main.py", False),
    ],
)
def test_the_allowed_files_are_named_exactly_not_by_prefix(relative: str, allowed: bool) -> None:
    assert may_import_browser(Path(relative)) is allowed
