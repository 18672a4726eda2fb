"""static/runtime-fetch.mjs under Node.js: Brotli copies decoded as they arrive, and every fallback.

The decoder is the pinned npm brotli-dec-wasm the page loads; the "host" is a fake fetch that
serves each URL's bytes in small chunks, as a network does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "static" / "runtime-fetch.mjs"
DECODER = ROOT / "node_modules" / "brotli-dec-wasm" / "pkg"

SCRIPT = """
import zlib from "node:zlib";
import { readFileSync } from "node:fs";
import { fetchDecoded } from MODULE_URL;

const decoder = async () => {
  const module = await import(DECODER_URL + "/brotli_dec_wasm.js");
  module.initSync({ module: readFileSync(new URL(DECODER_URL + "/brotli_dec_wasm_bg.wasm")) });
  return module;
};
// Like a wasm: its magic number, then 3 MB that compress well, so one input chunk decodes to more
// than the module's 1 MB per call.
const wasm = new Uint8Array(3 * 1024 * 1024 + 11);
wasm.set([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
for (let i = 8; i < wasm.length; i++) wasm[i] = (i * 7) % 13 === 0 ? i % 251 : 42;
const zip = Uint8Array.from([0x50, 0x4b, 3, 4, ...Array.from({ length: 5000 }, (_, i) => i % 7)]);
const br = (bytes) => new Uint8Array(zlib.brotliCompressSync(bytes));

function host(files, chunk) {
  const asked = [];
  const fetch = async (url) => {
    asked.push(url);
    const file = files[url];
    if (file === "offline") throw new TypeError("Failed to fetch");
    if (!file) return new Response("Not found", { status: 404 });
    let at = 0;
    const body = new ReadableStream({ pull(controller) {
      if (at >= file.length) return controller.close();
      controller.enqueue(file.slice(at, at + chunk));
      at += chunk;
    } });
    return new Response(body, { status: 200 });
  };
  return { fetch, asked };
}

const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
const cases = {
  decoded: [{ "w.wasm.br": br(wasm), "w.wasm": "never" }, "w.wasm", "application/wasm", wasm, 1000],
  oneBigChunk: [{ "w.wasm.br": br(wasm) }, "w.wasm", "application/wasm", wasm, 1 << 30],
  zip: [{ "s.zip.br": br(zip) }, "s.zip", "application/zip", zip, 3],
  hostDecoded: [{ "w.wasm.br": wasm }, "w.wasm", "application/wasm", wasm, 2],
  hostDecodedZip: [{ "s.zip.br": zip }, "s.zip", "application/zip", zip, 1],
  noCopy: [{ "w.wasm": wasm }, "w.wasm", "application/wasm", wasm, 4096],
  offlineCopy: [{ "w.wasm.br": "offline", "w.wasm": wasm }, "w.wasm", "application/wasm", wasm, 4096],
  cutShort: [{ "w.wasm.br": br(wasm).slice(0, -5) }, "w.wasm", "application/wasm", wasm, 100],
  notBrotli: [{ "w.wasm.br": Uint8Array.from({ length: 3000 }, (_, i) => (i * 97) % 256) }, "w.wasm",
              "application/wasm", wasm, 100],
  trailing: [{ "s.zip.br": Uint8Array.from([...br(zip), 1, 2, 3]) }, "s.zip", "application/zip", zip, 10],
  empty: [{ "w.wasm.br": new Uint8Array(0) }, "w.wasm", "application/wasm", wasm, 10],
};
const out = {};
for (const [name, [files, url, type, expected, chunk]] of Object.entries(cases)) {
  const { fetch, asked } = host(files, chunk);
  let kept = null;
  const keep = (blob) => { kept = blob; };
  try {
    const response = await fetchDecoded(url, type, { fetch, decoder, keep });
    const bytes = new Uint8Array(await response.arrayBuffer());
    out[name] = { same: same(bytes, expected), from: response.headers.get("X-Decoded-From"),
                  type: response.headers.get("Content-Type"), asked,
                  kept: kept && same(new Uint8Array(await kept.arrayBuffer()), expected), keptType: kept?.type };
  } catch (error) {
    out[name] = { error: String(error.message), asked, kept: kept !== null };
  }
}
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, object]]:
    node = shutil.which("node")
    assert node, "Node.js is required (npm installs the runtime with it)"
    assert DECODER.is_dir(), "npm ci installs brotli-dec-wasm (scripts/test.sh runs it)"
    source = (SCRIPT.replace("MODULE_URL", json.dumps(MODULE.as_uri()))
              .replace("DECODER_URL", json.dumps(DECODER.as_uri())))
    done = subprocess.run([node, "--input-type=module", "-e", source], capture_output=True, text=True,
                          check=True, timeout=120)
    return dict(json.loads(done.stdout))


@pytest.mark.parametrize("case", ["decoded", "oneBigChunk", "zip"])
def test_a_brotli_copy_is_decoded_to_the_files_bytes_without_fetching_the_file(
        results: dict[str, dict[str, object]], case: str) -> None:
    result = results[case]
    assert result["same"] is True, result
    assert result["from"] == "br"
    assert result["type"] in ("application/wasm", "application/zip")
    assert len(result["asked"]) == 1 and str(result["asked"][0]).endswith(".br")  # type: ignore[arg-type,index]
    assert result["kept"] is True and result["keptType"] == result["type"]  # for the service worker


@pytest.mark.parametrize("case", ["hostDecoded", "hostDecodedZip"])
def test_a_copy_the_host_already_decoded_is_taken_as_it_is(results: dict[str, dict[str, object]], case: str) -> None:
    assert results[case]["same"] is True, results[case]
    assert results[case]["from"] == "host"
    assert results[case]["kept"] is True


@pytest.mark.parametrize("case", ["noCopy", "offlineCopy"])
def test_without_a_copy_the_file_itself_is_fetched(results: dict[str, dict[str, object]], case: str) -> None:
    assert results[case]["same"] is True, results[case]
    assert results[case]["from"] is None  # the plain file's own response
    assert results[case]["asked"] == ["w.wasm.br", "w.wasm"]
    assert results[case]["kept"] is None  # the file itself is in the HTTP cache: nothing to keep


@pytest.mark.parametrize(("case", "says"), [
    ("cutShort", "ends before its data does"),
    ("notBrotli", "w.wasm.br"),
    ("trailing", "has bytes after its end"),
    ("empty", "ends before its data does"),
])
def test_a_copy_that_does_not_decode_is_an_error_never_wrong_bytes(
        results: dict[str, dict[str, object]], case: str, says: str) -> None:
    assert "error" in results[case], results[case]
    assert says in str(results[case]["error"])
    assert results[case]["kept"] is False
