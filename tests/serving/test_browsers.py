"""Finding a Chromium: Playwright's own first, then the system's, else a plain exception."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import serving.browsers
from serving.browsers import ChromiumNotFound, find_chromium


def fake_playwright(executable: str) -> Any:
    return SimpleNamespace(chromium=SimpleNamespace(executable_path=executable))


def test_playwrights_own_chromium_comes_first(tmp_path: Path) -> None:
    own = tmp_path / "chrome"
    own.write_text("")
    assert find_chromium(fake_playwright(str(own))) == str(own)


def test_without_playwrights_own_the_systems_chromium_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    system = tmp_path / "chromium-browser"
    system.write_text("")
    monkeypatch.setattr(serving.browsers, "SYSTEM_CHROMIUMS", ("/nonexistent/chromium", "chromium-browser"))
    monkeypatch.setenv("PATH", str(tmp_path))
    os.chmod(system, 0o755)
    assert find_chromium(fake_playwright(str(tmp_path / "missing"))) == str(system)


def test_no_chromium_at_all_raises_an_ordinary_exception(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(serving.browsers, "SYSTEM_CHROMIUMS", ("/nonexistent/chromium", "no-such-chromium"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ChromiumNotFound, match="No Chromium found"):
        find_chromium(None)


def test_the_browser_finder_is_not_test_code() -> None:
    tree = ast.parse(Path(serving.browsers.__file__).read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "pytest" not in imported and "tests" not in imported
