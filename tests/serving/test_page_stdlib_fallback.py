"""The page's standard library holds only what the page imports; scripts/page_stdlib_fallback.py finds the rest.

Under CPython, with zips made here: a "whole" library and a fetch that counts.
"""

from __future__ import annotations

import importlib
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.fakes import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from page_stdlib_fallback import WholeStdlib

URL = "https://page.test/runtime/pyodide-314.0.7/python_stdlib.zip"


@pytest.fixture
def whole(tmp_path: Path) -> bytes:
    """A whole library: a left-out module, a left-out package, and a module inside a package the page has."""
    path = tmp_path / "whole.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("leftout_mod.py", "WHERE = 'whole'\n")
        z.writestr("leftout_pkg/__init__.py", "")
        z.writestr("leftout_pkg/inner.py", "WHERE = 'whole, inner'\n")
        z.writestr("kept_pkg/__init__.py", "WHERE = 'whole'\n")
        z.writestr("kept_pkg/extra.py", "WHERE = 'whole, extra'\n")
    return path.read_bytes()


@pytest.fixture
def trimmed(tmp_path: Path) -> Iterator[Path]:
    """The page's library: only kept_pkg, first on sys.path, as the page's zip is."""
    path = tmp_path / "trimmed.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("kept_pkg/__init__.py", "WHERE = 'trimmed'\n")
    sys.path.insert(0, str(path))
    yield path
    sys.path.remove(str(path))
    for name in [n for n in sys.modules if n.split(".")[0] in ("leftout_mod", "leftout_pkg", "kept_pkg")]:
        del sys.modules[name]


class Fetches:
    def __init__(self, body: bytes | None) -> None:
        self.body, self.urls = body, []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        if self.body is None:
            raise OSError("offline")
        return self.body


def finder_for(fetch: Fetches, tmp_path: Path, warnings: list[str]) -> Iterator[WholeStdlib]:
    finder = WholeStdlib(URL, {"leftout_mod", "leftout_pkg", "kept_pkg.extra"}, fetch=fetch,
                         path=str(tmp_path / "fetched" / "whole.zip"), warn=warnings.append)
    (tmp_path / "fetched").mkdir()
    sys.meta_path.append(finder)
    importlib.invalidate_caches()
    try:
        yield finder
    finally:
        sys.meta_path.remove(finder)


def test_a_left_out_module_is_imported_from_the_whole_library_fetched_once(
    whole: bytes, trimmed: Path, tmp_path: Path
) -> None:
    fetch, warnings = Fetches(whole), []
    for _ in finder_for(fetch, tmp_path, warnings):
        assert importlib.import_module("leftout_mod").WHERE == "whole"
        assert importlib.import_module("leftout_pkg.inner").WHERE == "whole, inner"  # through the package's path
        assert importlib.import_module("kept_pkg").WHERE == "trimmed"  # what the page has wins
        assert importlib.import_module("kept_pkg.extra").WHERE == "whole, extra"  # the rest of a kept package
    assert fetch.urls == [URL]
    assert len(warnings) == 1 and "leftout_mod" in warnings[0] and "startup-modules.txt" in warnings[0]


def test_a_module_the_whole_library_has_not_either_fetches_nothing(whole: bytes, trimmed: Path, tmp_path: Path) -> None:
    # asyncio tries `import ssl` at every start; Pyodide has none: that must not cost 2.5 MB.
    fetch, warnings = Fetches(whole), []
    for _ in finder_for(fetch, tmp_path, warnings):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("no_such_module_anywhere")
    assert fetch.urls == [] and warnings == []


def test_when_the_whole_library_cannot_be_fetched_the_import_fails_plainly_and_is_not_retried(
    trimmed: Path, tmp_path: Path
) -> None:
    fetch, warnings = Fetches(None), []
    for _ in finder_for(fetch, tmp_path, warnings):
        for _attempt in range(2):
            with pytest.raises(ModuleNotFoundError):
                importlib.import_module("leftout_mod")
    assert fetch.urls == [URL]
    assert len(warnings) == 1 and "could not be fetched" in warnings[0] and "offline" in warnings[0]


def test_the_whole_library_is_fetched_again_if_its_file_is_gone(whole: bytes, trimmed: Path, tmp_path: Path) -> None:
    # A restored snapshot brings the finder back, but not the file the worker wrote.
    fetch, warnings = Fetches(whole), []
    for finder in finder_for(fetch, tmp_path, warnings):
        importlib.import_module("leftout_mod")
        Path(finder.path).unlink()
        importlib.import_module("leftout_pkg")
    assert fetch.urls == [URL, URL]
