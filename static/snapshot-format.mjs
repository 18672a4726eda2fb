// The stored form of a Pyodide memory snapshot: its non-zero pages only.
//
// About half of a fresh interpreter's memory is zero pages. Storing only the
// rest halves what Cache Storage reads on every visit; unpacking copies the
// runs into a zero-filled buffer of the original length, whose untouched
// pages cost nothing.
//
// Layout (little-endian Uint32): MAGIC, total length, run count, then
// (offset, length) per run, then the runs' bytes back to back.
const MAGIC = 0x50534e31; // "PSN1"
const PAGE = 4096;

export function pack(memory) {
  const words = new Uint32Array(memory.buffer, memory.byteOffset, Math.floor(memory.byteLength / 4));
  const used = (start, end) => {
    if (end > words.length * 4) return true; // a ragged tail is kept as it is
    for (let i = start / 4; i < end / 4; i++) if (words[i] !== 0) return true;
    return false;
  };
  const runs = [];
  for (let start = 0; start < memory.byteLength; start += PAGE) {
    const end = Math.min(start + PAGE, memory.byteLength);
    if (!used(start, end)) continue;
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === start) last[1] += end - start;
    else runs.push([start, end - start]);
  }
  const header = 3 + 2 * runs.length;
  const size = runs.reduce((sum, [, length]) => sum + length, header * 4);
  const packed = new Uint8Array(size);
  const head = new Uint32Array(packed.buffer, 0, header);
  head[0] = MAGIC;
  head[1] = memory.byteLength;
  head[2] = runs.length;
  let at = header * 4;
  runs.forEach(([offset, length], i) => {
    head[3 + 2 * i] = offset;
    head[4 + 2 * i] = length;
    packed.set(memory.subarray(offset, offset + length), at);
    at += length;
  });
  return packed;
}

export function unpack(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes.byteLength < 12) throw new Error("snapshot too short");
  const count = new Uint32Array(buffer, 0, 3);
  if (count[0] !== MAGIC) throw new Error("not a packed snapshot");
  const header = 3 + 2 * count[2];
  if (bytes.byteLength < header * 4) throw new Error("snapshot header cut short");
  const head = new Uint32Array(buffer, 0, header);
  const memory = new Uint8Array(head[1]);
  let at = header * 4;
  for (let i = 0; i < head[2]; i++) {
    const offset = head[3 + 2 * i];
    const length = head[4 + 2 * i];
    if (offset + length > memory.byteLength || at + length > bytes.byteLength) {
      throw new Error("snapshot run out of bounds");
    }
    memory.set(bytes.subarray(at, at + length), offset);
    at += length;
  }
  if (at !== bytes.byteLength) throw new Error("snapshot has trailing bytes");
  return memory;
}
