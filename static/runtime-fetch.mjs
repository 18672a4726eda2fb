// The runtime's two big files (Pyodide's wasm and the page's standard library), fetched on a first
// visit as their Brotli copies and decoded here, for hosts that only gzip.
//
// A host that compresses on the fly uses gzip; Brotli at its highest quality makes the 9.6 MB wasm
// 2.77 MB instead of 3.56 MB, and the standard library 0.72 MB instead of 1.05 MB. serve.py and the
// export write `<file>.br` beside both (serving/precompress.py); Chromium cannot decode Brotli
// itself outside Content-Encoding (DecompressionStream has gzip and deflate only), so a small wasm
// decoder does it as the bytes arrive (npm brotli-dec-wasm, pinned like the runtime, in
// its version-named runtime folder), and the wasm still compiles while it downloads.
//
// Whatever goes wrong falls back to the file itself, as the page fetched it before:
//   no `.br` (404, a network error)           the plain file
//   a host that decoded the `.br` itself      its bytes as they are (they start like the file)
//   a `.br` that does not decode              an error here; the caller fetches the plain file
//
// A returning visitor's page is controlled by its service worker, which answers the plain URLs
// from its cache; only an uncontrolled page fetches `.br` (static/first-visit.js preloads the
// same). So that the worker can keep the decoded files instead of downloading the plain ones again,
// the page holds them until static/offline.js is about to register the worker, then puts them
// into a staging cache (STAGED, by staged()), which sw.js checks against this build and empties.
export const DECODER_URL = new URL("../runtime/brotli-dec-wasm-2.3.2/brotli_dec_wasm.js", import.meta.url).href;
export const STAGED = "pychat-runtime-staged"; // keep in step with sw.js

const MAGIC = {
  "application/wasm": [0x00, 0x61, 0x73, 0x6d], // "\0asm"
  "application/zip": [0x50, 0x4b], // "PK"
};
const OUTPUT_CHUNK = 1 << 20; // at most this many decoded bytes per call into the decoder

let decoderModule = null;
export const loadDecoder = () => (decoderModule ??= import(DECODER_URL).then(async (module) => {
  await module.default(); // fetches and instantiates its wasm, from beside the module
  return module;
}));

// Whether this page should fetch the Brotli copies: only while no service worker answers for it.
export const wantsBrotli = () => !globalThis.navigator?.serviceWorker?.controller;

// A Response for `url` with its decoded bytes, from `url + ".br"` when there is one; `type` is the
// file's Content-Type ("application/wasm" or "application/zip"). Resolves to the plain file's
// response when there is no copy. The body errors if the copy does not decode. `keep`, if given,
// gets the decoded bytes as a Blob once the body has been read whole and decoded. `fetch` and
// `decoder` (which resolves to the decoder's initialised module) are for the tests.
export async function fetchDecoded(url, type, { fetch = globalThis.fetch, decoder = loadDecoder, keep = null } = {}) {
  let copy = null;
  try {
    copy = await fetch(`${url}.br`, { credentials: "same-origin" });
  } catch {
    copy = null;
  }
  if (!copy?.ok || !copy.body) return fetch(url, { credentials: "same-origin" });
  const headers = { "Content-Type": type, "X-Decoded-From": "br" };
  const reader = copy.body.getReader();
  // The first bytes say whether the host decoded the copy already (Content-Encoding: br).
  const head = [];
  let length = 0;
  const magic = MAGIC[type] ?? [];
  while (length < magic.length) {
    const { value, done } = await reader.read();
    if (done) break;
    head.push(value);
    length += value.byteLength;
  }
  const first = concat(head, length);
  // What was decoded, for `keep`: the chunks the body is made of (no copy until the Blob).
  const kept = [];
  const keeping = (transform) => (keep ? (chunk) => {
    const out = transform(chunk);
    kept.push(...(Array.isArray(out) ? out : [out]));
    return out;
  } : transform);
  const done = () => { if (keep) keep(new Blob(kept, { type })); };
  if (magic.length && magic.every((byte, i) => first[i] === byte)) {
    headers["X-Decoded-From"] = "host";
    return new Response(replay(first, reader, keeping((chunk) => chunk), done), { headers });
  }
  const { DecompressStream, BrotliStreamResultCode: code } = await decoder();
  const stream = new DecompressStream();
  let finished = false;
  const decode = (chunk) => {
    if (finished) throw new Error(`${url}.br has bytes after its end`);
    const out = [];
    let offset = 0;
    let status;
    do {
      let result;
      try {
        result = stream.decompress(chunk.subarray(offset), OUTPUT_CHUNK);
      } catch (error) {
        throw new Error(`${url}.br could not be decoded (${error?.message ?? error})`);
      }
      const { buf } = result;
      status = result.code;
      offset += result.input_offset;
      result.free();
      if (buf.byteLength) out.push(buf);
    } while (status === code.NeedsMoreOutput);
    finished = status === code.ResultSuccess;
    if (offset < chunk.byteLength) throw new Error(`${url}.br ${finished ? "has bytes after its end" : "could not be decoded"}`);
    return out;
  };
  const body = replay(first, reader, keeping(decode), () => {
    stream.free();
    if (!finished) throw new Error(`${url}.br ends before its data does`);
    done();
  });
  return new Response(body, { headers });
}

function concat(chunks, length) {
  if (chunks.length === 1) return chunks[0];
  const all = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return all;
}

// A stream of `transform(first)`, then `transform` of each chunk the reader gives; `end` runs last.
// `transform` returns a chunk or a list of chunks; a throw errors the stream (and cancels the read).
//
// Decoding runs on the page's main thread, and a stream's pulls chain as microtasks: a copy already
// in the HTTP cache would decode in one long task (about 900 ms on this machine's first visit).
// So the input is decoded in pieces of at most PIECE bytes, and the work yields to the browser
// once it has run SLICE_MS, leaving no task over 50 ms.
const PIECE = 64 * 1024;
const SLICE_MS = 8;
const yieldToBrowser = () => (globalThis.scheduler?.yield ? globalThis.scheduler.yield()
  : new Promise((resolve) => setTimeout(resolve, 0)));

function replay(first, reader, transform, end = () => {}) {
  const queue = first.byteLength ? [first] : [];
  let sliceStart = performance.now();
  // Enqueues what `chunk` decodes to; false if that was nothing (a pull must enqueue or close, or
  // the stream waits for ever).
  const emit = (controller, chunk) => {
    const out = transform(chunk);
    let any = false;
    for (const piece of Array.isArray(out) ? out : [out]) {
      if (!piece.byteLength) continue;
      controller.enqueue(piece);
      any = true;
    }
    return any;
  };
  return new ReadableStream({
    async pull(controller) {
      try {
        for (;;) {
          if (performance.now() - sliceStart > SLICE_MS) {
            await yieldToBrowser();
            sliceStart = performance.now();
          }
          if (!queue.length) {
            const { value, done } = await reader.read();
            if (done) {
              end();
              controller.close();
              return;
            }
            for (let at = 0; at < value.byteLength; at += PIECE) queue.push(value.subarray(at, at + PIECE));
            continue;
          }
          if (emit(controller, queue.shift())) return;
        }
      } catch (error) {
        reader.cancel(error).catch(() => {});
        controller.error(error);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

// Decoded copies the service worker is to keep (see the top), as Blobs (the browser reads them into
// Cache Storage itself, not through a stream on the main thread). They are held here, not written,
// while the page starts: writing 13 MB to Cache Storage would compete with the start, and a page
// that never gets ready installs no worker, so they would only take room. staged() writes them.
let pending = [];

export function stage(url, blob) {
  // Only for a service worker that will be installed (the conditions of static/offline.js).
  const offline = globalThis.document?.documentElement.dataset.offline !== "off" && globalThis.isSecureContext;
  if (!offline || !globalThis.caches || !globalThis.navigator?.serviceWorker) return;
  pending.push([url, blob]);
}

// Writes the held copies into the staging cache, for the worker about to be installed.
export async function staged() {
  const held = pending;
  pending = [];
  if (!held.length) return;
  try {
    const cache = await caches.open(STAGED);
    await Promise.all(held.map(([url, blob]) => cache.put(url, new Response(blob)).catch((error) => {
      console.warn("Runtime: the decoded copy was not kept for the service worker;", url, error);
    })));
  } catch (error) {
    console.warn("Runtime: no staging cache for the service worker;", error);
  }
}

// No worker will be installed (the page did not get ready): the held copies are let go.
export function forgetStaged() {
  pending = [];
}

export async function dropStaged() {
  try {
    if (globalThis.caches) await caches.delete(STAGED);
  } catch {
    // no Cache Storage: nothing was staged
  }
}
