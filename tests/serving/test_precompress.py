"""The export's compressed copies (serving/precompress.py): .gz and .br beside the files, kept across exports."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from serving.precompress import CACHE, SCRIPT, ensure_runtime_copies, precompress, remove_copies
from serving.static import copy_is_current
from tests.serving.fakes import ROOT, refuse_to_run, write

TEXT = "A line of the page's JavaScript, repeated so that it compresses. " * 200


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / SCRIPT).parent.mkdir(parents=True)
    shutil.copy2(ROOT / SCRIPT, root / SCRIPT)
    return root


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    write(root / "index.html", "<!doctype html>" + TEXT)
    write(root / "runtime" / "pyodide.asm.wasm", TEXT * 3)
    write(root / "static" / "tiny.js", "export {};")  # under MIN_COMPRESS_BYTES
    write(root / "static" / "icon.png", TEXT)  # not compressible by type
    return root


def brotli_decompress(path: Path) -> str:
    script = "process.stdout.write(require('zlib').brotliDecompressSync(require('fs').readFileSync(process.argv[1])))"
    return subprocess.run(["node", "-e", script, str(path)], check=True, capture_output=True, text=True).stdout


class CountingRun:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return subprocess.run(*args, **kwargs)


def test_each_compressible_file_gets_gzip_and_brotli_copies_that_decompress_to_it(project: Path, site: Path) -> None:
    result = precompress(site, project)

    for name in ("index.html", "runtime/pyodide.asm.wasm"):
        original = (site / name).read_text(encoding="utf-8")
        assert gzip.decompress((site / f"{name}.gz").read_bytes()).decode() == original
        assert brotli_decompress(site / f"{name}.br") == original
        assert (site / f"{name}.br").stat().st_mtime == (site / name).stat().st_mtime  # same Last-Modified
    assert result.files == 2 and not result.brotli_missing
    assert result.brotli < result.gzip < result.original


def test_small_files_and_images_get_no_copies(project: Path, site: Path) -> None:
    precompress(site, project)

    assert not list(site.glob("static/*.gz")) and not list(site.glob("static/*.br"))


def test_a_second_export_reuses_the_brotli_copies_and_makes_new_ones_only_for_changed_files(
    project: Path, site: Path
) -> None:
    precompress(site, project)
    counting = CountingRun()
    assert precompress(site, project, counting).brotli_missing == [] and counting.calls == 0

    write(site / "index.html", "<!doctype html><p>changed</p>" + TEXT)
    precompress(site, project, counting)

    assert counting.calls == 1
    assert "changed" in brotli_decompress(site / "index.html.br")
    assert len(list((project / CACHE).iterdir())) == 2  # the old index.html's copy is gone from the cache


def test_without_node_the_site_still_gets_its_gzip_copies_and_says_what_has_none(
    project: Path, site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_node(*args: Any, **kwargs: Any) -> Any:
        raise FileNotFoundError("node")

    result = precompress(site, project, no_node)

    assert (site / "index.html.gz").is_file() and not (site / "index.html.br").exists()
    assert sorted(result.brotli_missing) == ["index.html", "runtime/pyodide.asm.wasm"]
    assert "no Brotli copies" in capsys.readouterr().err


def test_without_the_script_node_is_not_run(tmp_path: Path, site: Path) -> None:
    result = precompress(site, tmp_path / "elsewhere", refuse_to_run)

    assert (site / "index.html.gz").is_file() and len(result.brotli_missing) == 2


def test_copies_of_a_removed_or_changed_file_do_not_outlive_it(project: Path, site: Path) -> None:
    precompress(site, project)
    write(site / "index.html", "x")  # now too small to compress

    precompress(site, project)
    assert not (site / "index.html.gz").exists() and not (site / "index.html.br").exists()

    remove_copies([site / "runtime" / "pyodide.asm.wasm"])
    assert not list((site / "runtime").glob("*.gz")) and not list((site / "runtime").glob("*.br"))


def runtime_of(project: Path) -> tuple[Path, Path]:
    """A built runtime in ``project``: its wasm and the page's standard library."""
    write(project / "runtime" / "VERSIONS.json", '{"pyodide": "314.0.7"}')
    return (write(project / "runtime" / "pyodide-314.0.7" / "pyodide.asm.wasm", "\0asm" + TEXT * 3),
            write(project / "runtime" / "page-stdlib-314.0.7.zip", "PK" + TEXT))


def test_the_runtime_s_wasm_and_standard_library_get_brotli_copies_with_their_times(project: Path) -> None:
    wasm, stdlib = runtime_of(project)
    assert ensure_runtime_copies(project) is True
    for path in (wasm, stdlib):
        copy = path.with_name(path.name + ".br")
        assert brotli_decompress(copy) == path.read_text()
        assert copy.stat().st_mtime_ns == path.stat().st_mtime_ns
        assert copy_is_current(copy)
    assert ensure_runtime_copies(project, run=refuse_to_run) is False  # current: nothing to do
    assert sorted(p.name for p in (project / "runtime").iterdir()) == [
        "VERSIONS.json", "page-stdlib-314.0.7.zip", "page-stdlib-314.0.7.zip.br", "pyodide-314.0.7"]


def test_a_rebuilt_file_s_old_copy_is_stale_until_it_is_made_again(project: Path) -> None:
    _, stdlib = runtime_of(project)
    ensure_runtime_copies(project)
    copy = stdlib.with_name(stdlib.name + ".br")
    write(stdlib, "PK" + TEXT + "rebuilt")
    os.utime(stdlib, ns=(stdlib.stat().st_atime_ns, copy.stat().st_mtime_ns + 1_000_000))
    assert not copy_is_current(copy)
    assert ensure_runtime_copies(project) is True
    assert copy_is_current(copy) and brotli_decompress(copy).endswith("rebuilt")


def test_without_a_runtime_or_node_there_are_no_copies(project: Path, tmp_path: Path) -> None:
    assert ensure_runtime_copies(project, run=refuse_to_run) is False  # no runtime built yet
    bare = tmp_path / "bare"
    wasm, _ = runtime_of(bare)  # no scripts/precompress.mjs: Node is never asked
    assert ensure_runtime_copies(bare, run=refuse_to_run) is False
    assert not wasm.with_name(wasm.name + ".br").exists()
