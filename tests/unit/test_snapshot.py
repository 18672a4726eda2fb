"""What a Pyodide memory snapshot may preload, and dropping it when the app's files changed."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import types
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.snapshot import (
    PAGE_PACKAGES,
    RECORD,
    cache_compiled,
    discard_stale_preloads,
    imports_browser,
    preload,
    standard_modules,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "source",
    [
        "import js",
        "import js.console",
        "from pyodide.ffi import create_proxy",
        "from pyscript import window",
        "import json\ndef later():\n    import pyodide_js\n",
        "import os, pyscript.web",
        "def broken(:\n",  # unparsable: never preloaded
    ],
)
def test_a_module_that_imports_the_browser_is_recognised(source: str) -> None:
    assert imports_browser(source)


@pytest.mark.parametrize(
    "source",
    ["import json", "from .api import ProxyClient", "from . import js", "import jsonschema", "x = 'import js'"],
)
def test_a_browser_free_module_is_recognised(source: str) -> None:
    assert not imports_browser(source)


@pytest.fixture
def package(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A fresh package on sys.path, and everything it loaded removed again afterwards."""
    name = f"pkg_{uuid.uuid4().hex[:8]}"
    (tmp_path / name).mkdir()
    sys.path.insert(0, str(tmp_path))
    yield name, tmp_path
    sys.path.remove(str(tmp_path))
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".") or m == RECORD]:
        del sys.modules[module]


def write(root: Path, relative: str, text: str) -> None:
    (root / relative).write_text(text, encoding="utf-8")


def test_preload_imports_the_browser_free_modules_and_records_their_sources(package: tuple[str, Path]) -> None:
    name, root = package
    write(root, f"{name}/__init__.py", "")
    write(root, f"{name}/logic.py", "import json\nVALUE = 1\n")
    write(root, f"{name}/view.py", "import js\n")
    write(root, f"{name}/uses_view.py", "from .view import something\n")  # imports the browser indirectly

    assert preload(name, root) == sorted([name, f"{name}.logic"])

    assert f"{name}.logic" in sys.modules
    assert f"{name}.view" not in sys.modules and f"{name}.uses_view" not in sys.modules
    assert set(sys.modules[RECORD].sources) == {name, f"{name}.logic"}


def test_a_module_reaching_the_browser_through_a_relative_import_is_not_preloaded(
    package: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in the snapshot's worker, where ``js`` can be imported: the source check alone would miss it."""
    monkeypatch.setitem(sys.modules, "js", types.ModuleType("js"))
    name, root = package
    write(root, f"{name}/__init__.py", "")
    write(root, f"{name}/logic.py", "VALUE = 1\n")
    write(root, f"{name}/helpers.py", "import js\nGREETING = 'old'\n")
    write(root, f"{name}/greeter.py", "from .helpers import GREETING\n")

    assert preload(name, root) == sorted([name, f"{name}.logic"])
    assert f"{name}.greeter" not in sys.modules and f"{name}.helpers" not in sys.modules


def test_nothing_is_preloaded_when_the_browser_was_reached_before_preloading_began(
    package: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker imports the package (for app.snapshot) before preload() can watch what each import pulls in."""
    monkeypatch.setitem(sys.modules, "js", types.ModuleType("js"))
    name, root = package
    write(root, f"{name}/__init__.py", "from .helpers import GREETING\n")
    write(root, f"{name}/helpers.py", "import js\nGREETING = 'old'\n")
    __import__(name)

    assert preload(name, root) == []
    assert RECORD not in sys.modules
    assert not [m for m in sys.modules if m == name or m.startswith(name + ".")]  # none left unchecked


def test_a_file_that_is_not_utf8_text_is_judged_by_its_declared_encoding(package: tuple[str, Path]) -> None:
    name, root = package
    write(root, f"{name}/__init__.py", "")
    (root / name / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nNAME = '\xe9t\xe9'\n")
    (root / name / "bom.py").write_bytes(b"\xef\xbb\xbfVALUE = 1\n")
    assert preload(name, root) == sorted([name, f"{name}.bom", f"{name}.latin"])
    assert discard_stale_preloads(root) is False


def test_nothing_is_preloaded_when_the_package_itself_touches_the_browser(package: tuple[str, Path]) -> None:
    name, root = package
    write(root, f"{name}/__init__.py", "from pyscript import window\n")
    write(root, f"{name}/logic.py", "VALUE = 1\n")
    assert preload(name, root) == []
    assert RECORD not in sys.modules


def test_unchanged_files_keep_the_preloaded_modules(package: tuple[str, Path]) -> None:
    name, root = package
    write(root, f"{name}/__init__.py", "")
    write(root, f"{name}/logic.py", "VALUE = 1\n")
    preload(name, root)
    module = sys.modules[f"{name}.logic"]

    assert discard_stale_preloads(root) is False
    assert sys.modules[f"{name}.logic"] is module
    assert RECORD in sys.modules


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_a_changed_or_removed_file_drops_every_preloaded_module_and_the_record(
    package: tuple[str, Path], change: str
) -> None:
    name, root = package
    write(root, f"{name}/__init__.py", "")
    write(root, f"{name}/logic.py", "VALUE = 1\n")
    write(root, f"{name}/other.py", "VALUE = 'other'\n")
    preload(name, root)
    if change == "edit":
        write(root, f"{name}/logic.py", "VALUE = 2\n")
    else:
        (root / name / "logic.py").unlink()

    assert discard_stale_preloads(root) is True

    assert not [m for m in sys.modules if m == name or m.startswith(name + ".")]
    assert RECORD not in sys.modules  # which tells the page to make a new snapshot
    if change == "edit":
        assert __import__(f"{name}.logic", fromlist=["VALUE"]).VALUE == 2  # the current code, not the snapshot's


def test_without_a_snapshot_there_is_nothing_to_check(tmp_path: Path) -> None:
    assert RECORD not in sys.modules
    assert discard_stale_preloads(tmp_path) is False


def test_a_restored_snapshot_does_not_replay_the_same_random_numbers(package: tuple[str, Path]) -> None:
    name, root = package
    write(root, f"{name}/__init__.py", "")
    preload(name, root)
    random.seed(1234)  # as frozen into a snapshot: every visit would start from this state
    frozen = random.random()
    random.seed(1234)

    discard_stale_preloads(root)

    assert random.random() != frozen


def test_the_app_preloads_exactly_its_browser_free_modules() -> None:
    """Run in a fresh interpreter: preloading changes sys.modules."""
    script = "import json, pathlib, app.snapshot as s; print(json.dumps(s.preload('app', pathlib.Path('.'))))"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(json.loads(result.stdout))
    browser_side = {"app.browser", "app.view", "app.main"}
    pure = {f"app.{p.stem}" for p in (ROOT / "app").glob("*.py") if p.stem != "__init__"} - browser_side
    assert loaded == pure | {"app"}


def test_standard_modules_are_the_loaded_standard_library_without_the_browser_or_the_app() -> None:
    import json as json_module

    fake = {
        "json": json_module,
        "html.entities": types.SimpleNamespace(__file__="/lib/python314.zip/html/entities.py"),
        "pyodide.http": types.SimpleNamespace(__file__="/lib/python314.zip/pyodide/http/__init__.py"),
        "_pyodide._base": types.SimpleNamespace(__file__="/lib/python314.zip/_pyodide/_base.py"),
        "pyscript.web": types.SimpleNamespace(__file__="/home/pyodide/pyscript/web.py"),
        "app.api": types.SimpleNamespace(__file__="/home/pyodide/app/api.py"),
        "attrs": types.SimpleNamespace(__file__="/lib/python3.14/site-packages/attrs/__init__.py"),
        "sys": sys,  # built in: no file
        # Fetched because the page's zip left it out: the worker would fetch 2.5 MB for it.
        "xml.dom": types.SimpleNamespace(__file__="/lib/python-stdlib-whole.zip/xml/dom/__init__.py"),
    }
    assert standard_modules(fake) == ["html.entities", "json"]


def test_preload_loads_the_standard_modules_asked_for_and_skips_those_it_cannot(package: tuple[str, Path]) -> None:
    name, root = package
    write(root, f"{name}/__init__.py", "")
    sys.modules.pop("colorsys", None)
    preload(name, root, ["colorsys", "no_such_module_here"])
    assert "colorsys" in sys.modules


# ----- code compiled in the snapshot, for the modules it cannot import ----------------------------


@pytest.fixture
def source_loader(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A fresh directory on sys.path, no .pyc files, and the source loader put back afterwards."""
    from importlib.machinery import SourceFileLoader

    monkeypatch.setattr(SourceFileLoader, "source_to_code", SourceFileLoader.source_to_code)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path


def _fresh_name() -> str:
    return f"cached_{uuid.uuid4().hex}"


def test_an_import_uses_the_code_compiled_for_its_exact_file(source_loader: Path) -> None:
    name = _fresh_name()
    path = source_loader / f"{name}.py"
    path.write_text("VALUE = 'from the file'\n")
    # Compiled from other bytes under the same path: only an exact match may be used.
    assert cache_compiled({str(path): b"VALUE = 'stale'\n"}) >= 1
    try:
        assert __import__(name).VALUE == "from the file"
    finally:
        sys.modules.pop(name, None)
    cache_compiled({str(path): path.read_bytes()})
    from importlib.machinery import SourceFileLoader

    loader = SourceFileLoader(name, str(path))
    cached = SourceFileLoader.source_to_code._pychat_cache[str(path)][1]  # type: ignore[attr-defined]
    assert loader.get_code(name) is cached  # not compiled again
    try:
        assert __import__(name).VALUE == "from the file"
    finally:
        sys.modules.pop(name, None)


def test_a_changed_file_is_compiled_again_and_others_are_untouched(source_loader: Path) -> None:
    first, other = _fresh_name(), _fresh_name()
    path = source_loader / f"{first}.py"
    path.write_text("VALUE = 1\n")
    (source_loader / f"{other}.py").write_text("VALUE = 'other'\n")
    cache_compiled({str(path): path.read_bytes()})
    path.write_text("VALUE = 2\n")
    try:
        assert __import__(first).VALUE == 2
        assert __import__(other).VALUE == "other"
    finally:
        sys.modules.pop(first, None)
        sys.modules.pop(other, None)


def test_a_file_that_does_not_compile_is_left_to_the_import(source_loader: Path) -> None:
    from importlib.machinery import SourceFileLoader

    name = _fresh_name()
    path = source_loader / f"{name}.py"
    path.write_text("def broken(:\n")
    cache_compiled({str(path): path.read_bytes()})
    assert str(path) not in SourceFileLoader.source_to_code._pychat_cache  # type: ignore[attr-defined]
    with pytest.raises(SyntaxError):
        __import__(name)


def test_a_module_already_imported_is_not_compiled_again(source_loader: Path) -> None:
    """Preloaded modules are in the snapshot as modules, checked by their digests: no second copy."""
    from importlib.machinery import SourceFileLoader

    name = _fresh_name()
    path = source_loader / f"{name}.py"
    path.write_text("VALUE = 1\n")
    try:
        __import__(name)
        cache_compiled({str(path): path.read_bytes()})
        assert str(path) not in SourceFileLoader.source_to_code._pychat_cache  # type: ignore[attr-defined]
    finally:
        sys.modules.pop(name, None)


@pytest.mark.parametrize("change", [None, "edit", "delete"])
def test_a_changed_compiled_file_asks_for_a_new_snapshot_and_keeps_the_preloads(
    package: tuple[str, Path], source_loader: Path, change: str | None
) -> None:
    """The view or PyScript's package changed (a deploy, an upgrade): its code goes, and the record."""
    from importlib.machinery import SourceFileLoader

    name, root = package
    write(root, f"{name}/__init__.py", "")
    write(root, f"{name}/logic.py", "VALUE = 1\n")
    view = root / f"{name}_view.py"  # compiled, not preloaded: it would touch the browser
    view.write_text("from pyscript import window\n")
    preload(name, root)
    cache_compiled({str(view): view.read_bytes()})
    logic = sys.modules[f"{name}.logic"]
    if change == "edit":
        view.write_text("from pyscript import document\n")
    elif change == "delete":
        view.unlink()

    assert discard_stale_preloads(root) is (change is not None)

    assert (RECORD in sys.modules) is (change is None)  # gone: the page makes a new snapshot
    assert sys.modules[f"{name}.logic"] is logic  # still current, so still preloaded
    cache = SourceFileLoader.source_to_code._pychat_cache  # type: ignore[attr-defined]
    assert (str(view) in cache) is (change is None)


def test_a_sub_package_is_preloaded_and_checked_like_the_rest(package: tuple[str, Path]) -> None:
    name, root = package
    (root / name / "logic").mkdir()
    (root / name / "view").mkdir()
    write(root, f"{name}/__init__.py", "")
    write(root, f"{name}/logic/__init__.py", "")
    write(root, f"{name}/logic/rules.py", "LIMIT = 1\n")
    write(root, f"{name}/view/__init__.py", "import js\n")
    assert preload(name, root) == [name, f"{name}.logic", f"{name}.logic.rules"]  # the view touches the browser
    write(root, f"{name}/logic/rules.py", "LIMIT = 2\n")
    assert discard_stale_preloads(root) is True
    assert f"{name}.logic.rules" not in sys.modules


def test_a_stale_app_drops_the_page_packages_it_came_with(package: tuple[str, Path]) -> None:
    name, root = package
    write(root, f"{name}/__init__.py", "")
    write(root, f"{name}/logic.py", "import mdurl\n")
    preload(name, root)
    assert "mdurl" in sys.modules
    write(root, f"{name}/logic.py", "import mdurl  # a new release\n")
    try:
        assert discard_stale_preloads(root) is True
        assert not [m for m in sys.modules if m.split(".")[0] in PAGE_PACKAGES]  # imported anew from the page's zip
    finally:
        import mdurl  # noqa: F401 - leave it loaded for the other tests, as it was


def test_the_page_packages_are_the_top_level_packages_of_the_pinned_wheels() -> None:
    import zipfile

    from app.markdown import PINNED
    from serving.packages import ensure_page_packages, page_pins, page_wheels

    ensure_page_packages(ROOT)
    tops = set()
    for wheel in page_wheels(ROOT):
        with zipfile.ZipFile(wheel) as files:
            tops |= {n.split("/")[0] for n in files.namelist() if n.endswith(".py")}
    assert tops == PAGE_PACKAGES
    assert PINNED in {f"{pin.name}=={pin.version}" for pin in page_pins(ROOT)}
