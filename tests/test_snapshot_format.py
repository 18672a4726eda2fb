"""static/snapshot-format.mjs under Node.js: packed snapshots unpack to exactly the memory they came from."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parents[1] / "static" / "snapshot-format.mjs"

ROUND_TRIPS = """
import { pack, unpack } from MODULE_URL;
const cases = {
  zeros: new Uint8Array(4096 * 3),
  scattered: (() => { const m = new Uint8Array(4096 * 10 + 12); m[5] = 1; m[4096 * 3 + 7] = 2;
                      m[4096 * 4] = 3; m[m.length - 1] = 9; return m; })(),
  ragged: (() => { const m = new Uint8Array(4099); m[4098] = 7; return m; })(),
  full: Uint8Array.from({ length: 8192 }, (_, i) => (i * 31 + 7) % 251 + 1),
  empty: new Uint8Array(0),
};
const out = {};
for (const [name, memory] of Object.entries(cases)) {
  const packed = pack(memory);
  const copy = packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.byteLength);
  const back = unpack(copy);
  out[name] = { same: back.length === memory.length && back.every((v, i) => v === memory[i]),
                packed: packed.byteLength, original: memory.byteLength };
}
console.log(JSON.stringify(out));
"""

BAD_INPUTS = """
import { pack, unpack } from MODULE_URL;
const good = pack(Uint8Array.from({ length: 4096 }, () => 5));
const bytes = (u8) => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);
const tries = {
  short: new ArrayBuffer(8),
  wrongMagic: (() => { const b = bytes(good); new Uint32Array(b)[0] = 1; return b; })(),
  runOutOfBounds: (() => { const b = bytes(good); new Uint32Array(b)[3] = 1 << 30; return b; })(),
  cutShort: bytes(good).slice(0, 100),
  trailing: (() => { const b = new Uint8Array(good.byteLength + 4); b.set(good); return b.buffer; })(),
};
const out = {};
for (const [name, buffer] of Object.entries(tries)) {
  try { unpack(buffer); out[name] = "accepted"; } catch (error) { out[name] = String(error.message); }
}
console.log(JSON.stringify(out));
"""


def run_node(script: str) -> dict[str, object]:
    node = shutil.which("node")
    assert node, "Node.js is required (npm installs the runtime with it)"
    source = script.replace("MODULE_URL", json.dumps(MODULE.as_uri()))
    result = subprocess.run([node, "--input-type=module", "-e", source], capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout))


def test_packing_keeps_every_byte_and_drops_the_zero_pages() -> None:
    results = run_node(ROUND_TRIPS)
    assert all(r["same"] for r in results.values()), results  # type: ignore[index]
    assert results["zeros"]["packed"] < 64  # type: ignore[index]
    assert results["scattered"]["packed"] < 4 * 4096  # type: ignore[index]


@pytest.mark.parametrize("case", ["short", "wrongMagic", "runOutOfBounds", "cutShort", "trailing"])
def test_a_damaged_snapshot_is_refused_not_misread(case: str) -> None:
    assert run_node(BAD_INPUTS)[case] != "accepted"
