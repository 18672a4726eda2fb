"""What Node builds with the pinned Pyodide: the app's bytecode and the page's standard library."""

from __future__ import annotations

import _imp
import ast
import gzip
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from serving.builds import (
    BYTECODE,
    BYTECODE_STAMP,
    STDLIB_MODULES,
    STDLIB_STAMP,
    ensure_bytecode,
    ensure_some_stdlib,
    ensure_stdlib,
    idle_modules,
    startup_modules,
    stdlib_name,
)
from serving.packages import REQUIREMENTS, WHEELS, ensure_page_packages
from serving.runtime import PYODIDE_PACKAGE, pinned_versions, pyodide_dir, pyodide_stdlib_zip
from tests.serving.fakes import ROOT, refuse_to_run


def pyc_entry(relative: Path) -> str:
    """Where the bytecode zip holds a module's .pyc: beside it under app/, as Python looks for it."""
    return (relative.parent / "__pycache__" / f"{relative.stem}.cpython-314.pyc").as_posix()


def compiled_modules(root: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(root / "runtime" / BYTECODE) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def with_built_bytecode(copy: Path) -> Path:
    """``copy`` (of the app) with the project's own current bytecode zip and stamp: built, without running Node.

    The stamp names inputs by their paths under the project, so it is as current
    for the copy, whose files are the same, as for the project.
    """
    ensure_bytecode(ROOT)  # already current after serve.build(): Node runs only if not
    for name in (BYTECODE, BYTECODE_STAMP):
        shutil.copy2(ROOT / "runtime" / name, copy / "runtime" / name)
    assert ensure_bytecode(copy, run=refuse_to_run) is False  # current, as if built here
    return copy


def test_bytecode_holds_every_imported_app_module_checked_against_its_source(app_copy: Path) -> None:
    assert ensure_bytecode(app_copy) is True
    compiled = compiled_modules(app_copy)
    app = app_copy / "app"
    imported = [p for p in sorted(app.rglob("*.py")) if "__pycache__" not in p.parts and p != app / "main.py"]
    assert sorted(compiled) == sorted(pyc_entry(p.relative_to(app)) for p in imported)
    for source in imported:
        pyc = compiled[pyc_entry(source.relative_to(app))]
        assert int.from_bytes(pyc[4:8], "little") == 0b11  # hash-based, checked: a stale one is ignored
        # The hash Python compares with the source it finds, keyed by the .pyc's own magic number.
        assert pyc[8:16] == _imp.source_hash(int.from_bytes(pyc[:4], "little"), source.read_bytes())
    assert ensure_bytecode(app_copy) is False  # current: Node is not run again
    (app_copy / "runtime" / BYTECODE_STAMP).unlink()
    assert ensure_bytecode(app_copy) is True  # unsure what the zip holds: built again


def test_bytecode_is_built_again_when_an_app_file_changes(app_copy: Path) -> None:
    with_built_bytecode(app_copy)
    wording = app_copy / "app" / "wording.py"
    wording.write_text(wording.read_text(encoding="utf-8") + "\nEXTRA = 1\n", encoding="utf-8")
    assert ensure_bytecode(app_copy) is True
    pyc = compiled_modules(app_copy)["__pycache__/wording.cpython-314.pyc"]
    assert pyc[8:16] == _imp.source_hash(int.from_bytes(pyc[:4], "little"), wording.read_bytes())


def test_a_failed_bytecode_build_serves_the_page_without_it(
    app_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_built_bytecode(app_copy)
    (app_copy / "app" / "wording.py").write_text("CHANGED = 1\n", encoding="utf-8")

    def node_fails(command: list[str], **_kwargs: Any) -> Any:
        return subprocess.CompletedProcess(command, 1, "", "SyntaxError: boom")

    assert ensure_bytecode(app_copy, run=node_fails) is False
    assert not (app_copy / "runtime" / BYTECODE).exists()  # no stale bytecode left behind
    assert "boom" in capsys.readouterr().err

    def no_node(command: list[str], **_kwargs: Any) -> Any:
        raise FileNotFoundError("node")

    assert ensure_bytecode(app_copy, run=no_node) is False
    assert list((app_copy / "runtime").glob(".app-bytecode*")) == []


def stdlib_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as bundle:
        return {entry: bundle.read(entry) for entry in bundle.namelist()}


def page_stdlib(root: Path) -> Path:
    return root / "runtime" / stdlib_name(pinned_versions(ROOT)[PYODIDE_PACKAGE])


def build_stdlib_of(root: Path, listed: str) -> dict[str, bytes]:
    (root / STDLIB_MODULES).write_text(listed, encoding="utf-8")
    assert ensure_stdlib(root) is True
    return stdlib_entries(page_stdlib(root))


def with_built_stdlib(copy: Path) -> dict[str, bytes]:
    """The project's own built page stdlib (and stamp) put in ``copy``, without running Node; its entries.

    For tests that start from a built zip and then break the next build: the
    zip is built from the project's start-up list, which includes ``json``.
    """
    ensure_stdlib(ROOT)  # already current after serve.build(): Node runs only if not
    for source, target in ((page_stdlib(ROOT), page_stdlib(copy)),
                           (ROOT / "runtime" / STDLIB_STAMP, copy / "runtime" / STDLIB_STAMP)):
        shutil.copy2(source, target)
    return stdlib_entries(page_stdlib(copy))


def top_level(entry: str) -> str:
    return entry.split("/")[0].removesuffix(".py")


def test_the_listed_start_up_modules_are_stored_compiled_in_place_of_their_source(app_copy: Path) -> None:
    built = build_stdlib_of(app_copy, "# comment\njson\njson.decoder  # trailing\n")
    shipped = stdlib_entries(pyodide_stdlib_zip(app_copy / "runtime"))
    # json/__init__ imports json.encoder and json.scanner: what the listed modules import comes too.
    for module in ("json/__init__", "json/decoder", "json/encoder", "json/scanner"):
        assert f"{module}.py" not in built
        pyc = built[f"{module}.pyc"]
        assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, unchecked: built with the zip
        assert pyc[8:16] == _imp.source_hash(int.from_bytes(pyc[:4], "little"), shipped[f"{module}.py"])
    with zipfile.ZipFile(page_stdlib(app_copy)) as bundle:  # stored: the host compresses across files
        assert {info.compress_type for info in bundle.infolist()} == {zipfile.ZIP_STORED}


def test_the_page_stdlib_holds_only_what_the_page_imports_and_names_what_it_left_out(app_copy: Path) -> None:
    built = build_stdlib_of(app_copy, "os\njson\n")
    assert "os.py" not in built and "os.pyc" not in built  # frozen into Python: never read from the zip
    # Pyodide's own start imports asyncio and more; nothing imports these.
    assert not [e for e in built if top_level(e) in ("xml", "email", "unittest", "tkinter")]
    # The fallback (scripts/page_stdlib_fallback.py) and its list of what is elsewhere: in Pyodide's whole zip.
    assert {"_page_stdlib_fallback.pyc", "_page_stdlib_left_out.pyc"} <= built.keys()
    left_out = built["_page_stdlib_left_out.pyc"]  # CPython 3.11 cannot load 3.14 code: its strings, then
    for name in (b"xml", b"email", b"unittest"):
        assert name in left_out
    assert b"json.tool" in left_out  # a module of a kept package that nothing imports
    assert b"json.decoder" not in left_out and b"xml.dom" not in left_out  # kept; inside a left-out package
    # What a gzip host sends: less than half of Pyodide's whole library.
    sent = len(gzip.compress(page_stdlib(app_copy).read_bytes(), 6))
    assert sent < len(gzip.compress(pyodide_stdlib_zip(app_copy / "runtime").read_bytes(), 6)) / 2


def test_the_page_stdlib_is_built_once_and_always_to_the_same_bytes(app_copy: Path) -> None:
    build_stdlib_of(app_copy, "json\n")
    first = page_stdlib(app_copy).read_bytes()
    assert ensure_stdlib(app_copy) is False  # current: Node is not run again
    (app_copy / "runtime" / STDLIB_STAMP).unlink()
    assert ensure_stdlib(app_copy) is True  # unsure what the zip holds: built again
    assert page_stdlib(app_copy).read_bytes() == first


def test_every_listed_start_up_module_is_in_pyodides_stdlib(app_copy: Path) -> None:
    # A misspelt or removed module fails the build (the page then gets Pyodide's own zip)
    # rather than being skipped unnoticed.
    assert ensure_stdlib(app_copy) is True
    built = stdlib_entries(page_stdlib(app_copy))
    for module in startup_modules(ROOT):
        path = module.replace(".", "/")
        assert {f"{path}.pyc", f"{path}/__init__.pyc"} & built.keys(), module


def test_a_failed_stdlib_build_replaces_the_stale_one_with_pyodides_own(
    app_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "json/__init__.pyc" in with_built_stdlib(app_copy)
    (app_copy / STDLIB_MODULES).write_text("no_such_module\n", encoding="utf-8")
    assert ensure_stdlib(app_copy) is False
    assert "no_such_module" in capsys.readouterr().err  # Python's error, not Node's dump of Pyodide
    assert page_stdlib(app_copy).read_bytes() == pyodide_stdlib_zip(app_copy / "runtime").read_bytes()
    assert not (app_copy / "runtime" / STDLIB_STAMP).exists()  # the next start tries again


def test_without_node_the_page_gets_pyodides_own_stdlib(app_copy: Path) -> None:
    assert "json/__init__.pyc" in with_built_stdlib(app_copy)
    (app_copy / STDLIB_MODULES).write_text("json\njson.decoder\n", encoding="utf-8")

    def no_node(command: list[str], **_kwargs: Any) -> Any:
        raise FileNotFoundError("node")

    assert ensure_stdlib(app_copy, run=no_node) is False
    assert page_stdlib(app_copy).read_bytes() == pyodide_stdlib_zip(app_copy / "runtime").read_bytes()
    assert list((app_copy / "runtime").glob(".page-stdlib*")) == []


def test_before_serving_a_missing_page_stdlib_is_stood_in_for_by_pyodides_own(app_copy: Path) -> None:
    # serve.py serves before the compiled one is built (seconds of Node), so some zip must be there.
    page_stdlib(app_copy).unlink(missing_ok=True)
    (app_copy / "runtime" / STDLIB_STAMP).unlink(missing_ok=True)
    assert ensure_some_stdlib(app_copy) is True
    assert page_stdlib(app_copy).read_bytes() == pyodide_stdlib_zip(app_copy / "runtime").read_bytes()
    assert not (app_copy / "runtime" / STDLIB_STAMP).exists()  # so the build (in the background) replaces it
    assert ensure_some_stdlib(app_copy) is False  # one there already: left alone


def test_index_html_preloads_the_page_stdlib_of_the_pinned_pyodide() -> None:
    # static/pyodide-snapshot.mjs names it from the Pyodide it imports; index.html cannot.
    name = stdlib_name(pinned_versions(ROOT)[PYODIDE_PACKAGE])
    link = f'<link data-runtime-preload href="./runtime/{name}" as="fetch" crossorigin>'
    assert link in (ROOT / "index.html").read_text()


# Loads the pinned Pyodide in Node as the page does: the app's files written under its home,
# the bytecode zip unpacked into <home>/app (as static/pyodide-snapshot.mjs does), then an import.
IMPORT_IN_PYODIDE = """
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const [pyodideDir, appDir, zipped, ...files] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const pyodide = await loadPyodide({ indexURL: `${pyodideDir}/` });
const home = "/home/pyodide";
for (const file of files) {
  const target = `${home}/app/${file}`;
  pyodide.FS.mkdirTree(target.slice(0, target.lastIndexOf("/")));
  pyodide.FS.writeFile(target, readFileSync(`${appDir}/${file}`));
}
try {
  pyodide.unpackArchive(new Uint8Array(readFileSync(zipped)), "zip", { extractDir: `${home}/app` });
  console.log(pyodide.runPython(`
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, "${home}")
from app.sub.helper import WHERE
WHERE`));
} catch (error) {
  console.error(`failed: ${error.message}`);
  process.exit(1);
}
"""


def import_in_pyodide(root: Path, tmp_path: Path, files: list[str]) -> str:
    script = tmp_path / "import.mjs"
    script.write_text(IMPORT_IN_PYODIDE, encoding="utf-8")
    pyodide = pyodide_dir(root / "runtime")
    zipped = root / "runtime" / BYTECODE
    result = subprocess.run(["node", str(script), str(pyodide), str(root / "app"), str(zipped), *files],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-1500:]
    return result.stdout.strip().splitlines()[-1]


def test_a_sub_package_gets_its_bytecode_where_python_looks_for_it(app_copy: Path, tmp_path: Path) -> None:
    sub = app_copy / "app" / "sub"
    sub.mkdir()
    (sub / "__init__.py").write_text("", encoding="utf-8")
    helper = sub / "helper.py"
    helper.write_text('WHERE = "bytecode"\n', encoding="utf-8")
    assert ensure_bytecode(app_copy) is True
    assert {"sub/__pycache__/__init__.cpython-314.pyc", "sub/__pycache__/helper.cpython-314.pyc"} <= set(
        compiled_modules(app_copy))

    # The page's helper.py now says "source"; the .pyc, built from "bytecode", is stamped with its hash:
    # if Python finds the .pyc beside the sub-package's file, it runs it instead of compiling the file.
    helper.write_text('WHERE = "source"\n', encoding="utf-8")
    app = app_copy / "app"
    files = [p.relative_to(app).as_posix() for p in app.rglob("*.py") if "__pycache__" not in p.parts]
    assert import_in_pyodide(app_copy, tmp_path, files) == "source"  # a stale .pyc is ignored
    zipped = app_copy / "runtime" / BYTECODE
    with zipfile.ZipFile(zipped) as bundle:
        entries = {name: bundle.read(name) for name in bundle.namelist()}
    pyc = entries["sub/__pycache__/helper.cpython-314.pyc"]
    entries["sub/__pycache__/helper.cpython-314.pyc"] = (
        pyc[:8] + _imp.source_hash(int.from_bytes(pyc[:4], "little"), helper.read_bytes()) + pyc[16:])
    with zipfile.ZipFile(zipped, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    assert import_in_pyodide(app_copy, tmp_path, files) == "bytecode"


def test_moving_a_module_into_a_sub_package_builds_the_bytecode_again(app_copy: Path) -> None:
    with_built_bytecode(app_copy)
    (app_copy / "app" / "sub").mkdir()
    (app_copy / "app" / "wording.py").rename(app_copy / "app" / "sub" / "wording.py")
    assert ensure_bytecode(app_copy) is True
    assert "sub/__pycache__/wording.cpython-314.pyc" in compiled_modules(app_copy)


def with_page_packages(root: Path) -> Path:
    """``root`` with the project's pinned wheels, fetched (or checked) by pip first."""
    ensure_page_packages(ROOT)
    shutil.copy(ROOT / REQUIREMENTS, root / REQUIREMENTS)
    shutil.copytree(ROOT / WHEELS, root / WHEELS)
    return root


def test_the_page_packages_are_added_to_the_page_stdlib_compiled(app_copy: Path) -> None:
    built = build_stdlib_of(with_page_packages(app_copy), "json\n")
    with zipfile.ZipFile(app_copy / WHEELS / "markdown_it_py-4.3.0-py3-none-any.whl") as wheel:
        source = wheel.read("markdown_it/main.py")
    pyc = built["markdown_it/main.pyc"]
    assert "markdown_it/main.py" not in built
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # unchecked, like the standard library's
    assert pyc[8:16] == _imp.source_hash(int.from_bytes(pyc[:4], "little"), source)
    assert "mdurl/__init__.pyc" in built
    assert "markdown_it_py-4.3.0.dist-info/licenses/LICENSE" in built  # its licence travels with it
    assert not [e for e in built if "/cli/" in e or e.endswith("/RECORD")]  # a page has no command line
    assert ensure_stdlib(app_copy) is False
    (app_copy / WHEELS / "mdurl-0.1.2-py3-none-any.whl").touch()  # same bytes: still current
    assert ensure_stdlib(app_copy) is False


def test_without_node_the_page_packages_come_as_source_beside_pyodides_stdlib(app_copy: Path) -> None:
    with_page_packages(app_copy)

    def no_node(command: list[str], **_kwargs: Any) -> Any:
        raise FileNotFoundError("node")

    assert ensure_stdlib(app_copy, run=no_node) is False
    built = stdlib_entries(page_stdlib(app_copy))
    shipped = stdlib_entries(pyodide_stdlib_zip(app_copy / "runtime"))
    assert {e: built[e] for e in shipped} == shipped
    with zipfile.ZipFile(app_copy / WHEELS / "markdown_it_py-4.3.0-py3-none-any.whl") as wheel:
        assert built["markdown_it/main.py"] == wheel.read("markdown_it/main.py")
    assert "mdurl/__init__.py" in built


def test_the_modules_imported_when_idle_are_compiled_too_and_told_apart() -> None:
    later = idle_modules(ROOT)
    assert {"ipaddress", "urllib.parse"} <= set(later)
    assert set(later) <= set(startup_modules(ROOT))  # compiled with the rest
    assert "json" not in later


def stdlib_imports_of_the_app() -> dict[str, str]:
    """Every standard-library module some app file imports, anywhere in it (functions too): {module: file}."""
    with zipfile.ZipFile(pyodide_stdlib_zip(ROOT / "runtime")) as whole:
        shipped = set(whole.namelist())
    found: dict[str, str] = {}
    for source in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                path = name.replace(".", "/")
                if {f"{path}.py", f"{path}/__init__.py"} & shipped:
                    found.setdefault(name, str(source.relative_to(ROOT)))
    return found


def test_every_standard_library_module_the_app_imports_is_in_the_pages_zip() -> None:
    # A module imported only on some path (datetime for an import, hashlib for the snapshot) would
    # otherwise cost that path the fetch of Pyodide's whole library. (Frozen ones are never in the zip.)
    ensure_stdlib(ROOT)
    built = stdlib_entries(page_stdlib(ROOT))
    missing = {
        name: where for name, where in stdlib_imports_of_the_app().items()
        if not {f"{name.replace('.', '/')}.pyc", f"{name.replace('.', '/')}/__init__.pyc"} & built.keys()
        and not _imp.is_frozen(name)
    }
    assert missing == {}, f"add these to the end of {STDLIB_MODULES}"
