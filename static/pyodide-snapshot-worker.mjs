// Makes a Pyodide memory snapshot off the page's main thread (see pyodide-snapshot.mjs).
//
// Receives the app's files (and PyScript's own Python package), starts a
// separate Pyodide with _makeSnapshot, writes the files, lets app/snapshot.py
// import the standard-library modules the page had loaded and the app's
// browser-free modules, and compile every file (for the imports it cannot make
// here), and stores the memory in Cache Storage under the page's entry.
// Answers {ok: true} or {ok: false, error}.
import { loadPyodide } from "../runtime/pyodide-314.0.7/pyodide.mjs";
import { withoutSharedMemory } from "./pyodide-runtime.mjs";
import { pack } from "./snapshot-format.mjs";

const quiet = () => {};

// What the page already has (see loadFirst in pyodide-snapshot.mjs): the compiled wasm and
// the standard library's bytes, used instead of fetching and compiling them again.
function reuse({ wasm, stdlib, options }) {
  const nativeFetch = globalThis.fetch;
  const wasmURL = new URL("pyodide.asm.wasm", options.indexURL).href;
  globalThis.fetch = (input, init) => {
    const url = String(input?.url ?? input);
    if (wasm && url === wasmURL) return Promise.resolve(new Response(null, { headers: { "Content-Type": "application/wasm" } }));
    if (stdlib && url === options.stdLibURL) return Promise.resolve(new Response(stdlib));
    return nativeFetch(input, init);
  };
  if (wasm) {
    WebAssembly.instantiateStreaming = async (_source, imports) => ({ instance: await WebAssembly.instantiate(wasm, imports), module: wasm });
  }
}

onmessage = async ({ data }) => {
  try {
    reuse(data);
    const interpreter = await withoutSharedMemory(() => loadPyodide({ // see pyodide-runtime.mjs
      ...data.options, _makeSnapshot: true, stdout: quiet, stderr: quiet,
    }));
    interpreter.runPython(data.installFallback); // the page's standard library is only what it imports
    const { FS } = interpreter;
    for (const [path, bytes] of Object.entries(data.files)) {
      const full = `${data.home}/${path}`;
      FS.mkdirTree(full.slice(0, full.lastIndexOf("/")));
      FS.writeFile(full, bytes); // the page's bytes, unchanged: app/snapshot.py hashes them on both sides
    }
    interpreter.globals.set("snapshot_home", data.home);
    interpreter.globals.set("snapshot_package", data.package);
    interpreter.globals.set("snapshot_standard", interpreter.toPy(data.standard || []));
    interpreter.globals.set("snapshot_files", interpreter.toPy(Object.keys(data.files)));
    const loaded = interpreter.runPython(`
import importlib, sys
from pathlib import Path
sys.path.insert(0, snapshot_home)
snapshot = importlib.import_module(snapshot_package + ".snapshot")
loaded = snapshot.preload(snapshot_package, Path(snapshot_home), snapshot_standard)
sys.path.remove(snapshot_home)
try:
    snapshot.cache_compiled({f"{snapshot_home}/{p}": Path(snapshot_home, p).read_bytes() for p in snapshot_files})
except Exception:  # a snapshot without compiled code still starts faster than none
    pass
loaded
`).toJs();
    if (!loaded.includes(data.package)) throw new Error(`nothing of ${data.package} could be preloaded`);
    interpreter.runPython(
      "del loaded, snapshot, Path, importlib, sys, snapshot_home, snapshot_package, snapshot_standard, snapshot_files",
    );
    const memory = pack(interpreter.makeMemorySnapshot());
    const cache = await caches.open(data.cache);
    await cache.put(data.entry, new Response(memory, {
      headers: { "Content-Type": "application/octet-stream", "X-Snapshot-Key": data.key },
    }));
    postMessage({ ok: true, bytes: memory.byteLength, modules: loaded });
  } catch (error) {
    postMessage({ ok: false, error: String(error && error.message || error) });
  }
};
