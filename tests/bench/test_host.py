"""The benchmark's reference host (bench/host.py): the headers each mode sends, and what it counts."""

from __future__ import annotations

import gzip
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.host import ReferenceHost, Transfer, serve_in_thread

WASM = bytes(range(256)) * 64


@pytest.fixture(params=["gzip", "no-cache"])
def host(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReferenceHost]:
    (tmp_path / "runtime").mkdir()
    (tmp_path / "runtime" / "a.wasm").write_bytes(WASM)
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>", encoding="utf-8")
    server = ReferenceHost(tmp_path, request.param)
    serve_in_thread(server)
    yield server
    server.shutdown()
    server.server_close()


def get(host: ReferenceHost, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(host.url + path, headers={"Accept-Encoding": "gzip", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), b""


def test_compressible_files_are_gzipped(host: ReferenceHost) -> None:
    status, headers, body = get(host, "/runtime/a.wasm")
    assert (status, headers["Content-Encoding"], gzip.decompress(body)) == (200, "gzip", WASM)


def test_the_reference_host_sends_last_modified_and_no_cache_control(host: ReferenceHost) -> None:
    _, headers, _ = get(host, "/runtime/a.wasm")
    if host.mode == "gzip":
        assert "Last-Modified" in headers and "Cache-Control" not in headers and "ETag" not in headers
    else:
        assert headers["Cache-Control"] == "no-cache" and "Last-Modified" not in headers and "ETag" not in headers


def test_only_the_reference_host_answers_a_revalidation_with_304(host: ReferenceHost) -> None:
    status, _, _ = get(host, "/", **{"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
    assert status == (304 if host.mode == "gzip" else 200)


def test_the_log_counts_each_download_and_its_bytes_on_the_wire(host: ReferenceHost) -> None:
    mark = host.mark()
    _, _, body = get(host, "/runtime/a.wasm")
    get(host, "/runtime/a.wasm")
    get(host, "/missing.js")
    sent = Transfer.of(host.since(mark))
    assert sent.downloads == {"/runtime/a.wasm": 2}
    assert sent.body_bytes == 2 * len(body) + len(b"Not found\n")
    assert sent.wire_bytes > sent.body_bytes  # the headers count too


def test_nothing_outside_the_folder_is_served(host: ReferenceHost) -> None:
    assert get(host, "/../etc/passwd")[0] == 404
