"""The pinned runtime: npm ci, runtime/ and its version-named folders."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from serving import SetupError
from serving.runtime import NPM_COMMAND, ensure_runtime, pinned_versions, runtime_dirs
from tests.serving.fakes import (
    BROTLI_FILES,
    PINS,
    PYODIDE_FILES,
    ROOT,
    FakeNpm,
    install_fake_packages,
    refuse_to_run,
    write,
)


def test_ensure_runtime_builds_runtime_from_node_modules(repo: Path) -> None:
    assert ensure_runtime(repo, run=refuse_to_run) is True
    runtime = repo / "runtime"
    assert sorted(p.name for p in (runtime / "pyscript-0.7.31").iterdir()) == [
        "core-abc123.js",
        "core.css",
        "core.js",
        "core.js.map",  # for developer tools: a missing map is a 404 in their console
        "py-editor-x.js",
        "xterm.css",
    ]
    assert sorted(p.name for p in (runtime / "pyodide-314.0.7").iterdir()) == sorted(PYODIDE_FILES)
    # The decoder flat, as its module fetches its wasm from beside itself; not its type declarations.
    assert sorted(p.name for p in (runtime / "brotli-dec-wasm-2.3.2").iterdir()) == sorted(BROTLI_FILES)
    assert json.loads((runtime / "VERSIONS.json").read_text()) == PINS


def test_every_runtime_url_names_the_pinned_versions() -> None:
    # The runtime is served as immutable, so a version bump must change every URL that names it.
    pinned = set(runtime_dirs(pinned_versions(ROOT)).values())
    pages = [p for p in (ROOT / "bench" / "pages").rglob("*") if p.suffix in (".html", ".toml", ".js", ".py")]
    sources = [ROOT / "index.html", ROOT / "pyscript.toml", *(ROOT / "static").glob("*.*js"), *pages]
    named = {(path.relative_to(ROOT).as_posix(), d) for path in sources
             for d in re.findall(r"runtime/([^/\s\"']+)/", path.read_text(encoding="utf-8"))}
    assert {d for _, d in named} == pinned, sorted(named)


def test_ensure_runtime_leaves_no_temporary_folders(repo: Path) -> None:
    ensure_runtime(repo, run=refuse_to_run)
    ensure_runtime(repo, run=refuse_to_run)
    assert not [p.name for p in repo.iterdir() if p.name.startswith(".runtime")]


def test_ensure_runtime_keeps_a_current_runtime(built_repo: Path) -> None:
    marker = write(built_repo / "runtime" / "pyodide-314.0.7" / "marker", "kept")
    assert ensure_runtime(built_repo, run=refuse_to_run) is False
    assert marker.read_text() == "kept"


def test_ensure_runtime_rebuilds_when_the_stamp_differs(built_repo: Path) -> None:
    write(built_repo / "runtime" / "VERSIONS.json", json.dumps({"pyodide": "0.1"}))
    write(built_repo / "runtime" / "pyodide-314.0.7" / "marker", "stale")
    assert ensure_runtime(built_repo, run=refuse_to_run) is True
    assert not (built_repo / "runtime" / "pyodide-314.0.7" / "marker").exists()
    assert json.loads((built_repo / "runtime" / "VERSIONS.json").read_text()) == PINS


def test_ensure_runtime_runs_npm_ci_when_packages_are_missing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(repo / "node_modules")
    npm = FakeNpm()
    ensure_runtime(repo, run=npm)
    assert npm.calls == [(list(NPM_COMMAND), repo)]
    assert NPM_COMMAND == ("npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund")
    assert "Fetching the pinned PyScript/Pyodide runtime with npm" in capsys.readouterr().out
    assert (repo / "runtime" / "pyodide-314.0.7" / "pyodide.asm.wasm").is_file()


def test_ensure_runtime_runs_npm_ci_when_a_version_differs(repo: Path) -> None:
    install_fake_packages(repo, {**PINS, "pyodide": "0.27.0"})
    npm = FakeNpm()
    ensure_runtime(repo, run=npm)
    assert len(npm.calls) == 1


def test_ensure_runtime_explains_a_missing_npm(repo: Path) -> None:
    def no_npm(*args: Any, **kwargs: Any) -> Any:
        raise FileNotFoundError("npm")

    (repo / "node_modules" / "pyodide" / "package.json").unlink()
    with pytest.raises(SetupError, match="npm was not found"):
        ensure_runtime(repo, run=no_npm)


def test_ensure_runtime_reports_a_failing_npm(repo: Path) -> None:
    (repo / "node_modules" / "pyodide" / "package.json").unlink()
    with pytest.raises(SetupError, match="exit code 1"):
        ensure_runtime(repo, run=FakeNpm(returncode=1))
    assert not (repo / "runtime").exists()


def test_the_package_list_pyodide_gets_instead_of_its_lock_file_names_the_pinned_builds_abi() -> None:
    # static/pyodide-snapshot.mjs passes lockFileContents, so the page never fetches pyodide-lock.json;
    # Pyodide refuses a list whose ABI differs from its own. Upgrading Pyodide means updating LOCK.
    lock = json.loads((ROOT / "node_modules" / "pyodide" / "pyodide-lock.json").read_text(encoding="utf-8"))
    source = (ROOT / "static" / "pyodide-snapshot.mjs").read_text(encoding="utf-8")
    given = re.search(r"^const LOCK = \{ info: (\{.*?\}), packages: \{\} \};$", source, re.MULTILINE)
    assert given, "static/pyodide-snapshot.mjs has no LOCK line"
    assert json.loads(re.sub(r"(\w+):", r'"\1":', given[1])) == lock["info"]


def test_the_pinned_pyodide_uses_shared_memory_only_to_sleep_between_retries() -> None:
    # static/pyodide-runtime.mjs makes Pyodide's shared WebAssembly.Memory unshared while it loads,
    # on the ground that its one use is an Atomics.wait sleep that the page's main thread cannot do
    # anyway. A Pyodide that uses shared memory or Atomics otherwise would need that looked at again.
    asm = (ROOT / "node_modules" / "pyodide" / "pyodide.asm.mjs").read_text(encoding="utf-8")
    assert re.findall(r"shared:\s*(?:!0|true)", asm) == ["shared:!0"]
    assert re.findall(r"Atomics\.\w+", asm) == ["Atomics.wait"]
    assert re.search(r"try\{return Atomics\.wait\(\w+,0,0,\w+\),!0\}catch\{return!1\}", asm), \
        "Pyodide's sleep no longer catches a failed Atomics.wait"
    assert "SharedArrayBuffer" not in asm
