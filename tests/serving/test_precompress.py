"""The export's compressed copies (serving/precompress.py): .gz and .br beside the files, kept across exports."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from serving.precompress import CACHE, SCRIPT, precompress, remove_copies
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
