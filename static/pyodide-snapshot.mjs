// Pyodide for PyScript, restored from a memory snapshot when one is cached.
//
// pyscript.toml names this module as its `interpreter`; PyScript only takes
// {loadPyodide, version} from it. When Cache Storage holds a snapshot made
// for this Pyodide build, Python starts from that saved memory (the standard
// library and the app's browser-free modules already imported, the app's other modules and
// PyScript's own Python already compiled) instead of
// initialising from scratch, which takes a fraction of the time. Otherwise
// Pyodide starts as usual and, once the page is ready and the browser idle, a
// worker makes a snapshot for the next visit, so the first visit pays nothing
// for it.
//
// Snapshots rely on private Pyodide options (_loadSnapshot, _makeSnapshot).
// Every use is guarded: whatever fails, the page starts normally and the
// cached entry is dropped. app/snapshot.py checks, before the app imports
// anything, that the preloaded modules match the files just fetched.
//
// <html data-snapshot> says what happened (and performance marks named
// "pyodide-snapshot:<state>" keep the history), for tests and the curious:
//   off       snapshots disabled (data-snapshot="off" in index.html) or no Cache Storage
//   fresh     normal start, no usable snapshot yet
//   restored  started from the snapshot
//   failed    a snapshot was there but could not be restored; started normally
//   saving / saved / unsaved   making a snapshot for the next visit, and how that went
//   dropped   the page failed after a restore: the snapshot is gone, the next load starts normally
import * as pyodide from "../runtime/pyodide-314.0.7/pyodide.mjs";
import { withoutSharedMemory } from "./pyodide-runtime.mjs";
import { fetchDecoded, stage, wantsBrotli } from "./runtime-fetch.mjs";
import { unpack } from "./snapshot-format.mjs";

export const version = pyodide.version;

const INDEX_URL = new URL("../runtime/pyodide-314.0.7/", import.meta.url).href;
const WASM_URL = new URL("pyodide.asm.wasm", INDEX_URL).href;
// The standard library with what the page imports at start-up compiled (serve.py builds it
// with scripts/stdlib-bytecode.mjs, or copies Pyodide's own zip there when it cannot).
const STDLIB_URL = new URL(`../runtime/page-stdlib-${pyodide.version}.zip`, import.meta.url).href;
// The page's standard library holds only what the page imports; for anything else, its
// _page_stdlib_fallback (scripts/page_stdlib_fallback.py) fetches Pyodide's whole one, once.
// Installed on every start, restored or not (the worker does the same).
const WHOLE_STDLIB_URL = new URL("python_stdlib.zip", INDEX_URL).href;
const INSTALL_FALLBACK = `
try:
    import _page_stdlib_fallback
except ImportError:  # Pyodide's own zip (serve.py could not build the page's): nothing is left out
    pass
else:
    _page_stdlib_fallback.install(${JSON.stringify(WHOLE_STDLIB_URL)})
    del _page_stdlib_fallback
`;

// The page loads no packages, so Pyodide gets an empty package list instead of fetching
// pyodide-lock.json (117 KB, and again in the snapshot worker). Pyodide checks only the ABI;
// tests/serving/test_runtime.py keeps this in step with the pinned Pyodide's lock file.
const LOCK = { info: { abi_version: "2026_0", arch: "wasm32", platform: "emscripten_5_0_3", python: "3.14.2" }, packages: {} };
// A new object each time: loadPyodide adds its own entries (functions too) to the one it gets.
const options = () => ({ indexURL: INDEX_URL, stdLibURL: STDLIB_URL, lockFileContents: structuredClone(LOCK) });
// Every start goes through this: Pyodide without its shared memory (static/pyodide-runtime.mjs).
const load = (given) => withoutSharedMemory(() => pyodide.loadPyodide(given));
const CACHE = "pychat-pyodide-snapshot";
// One entry per page location. Bump FORMAT when what a snapshot holds changes.
const FORMAT = 3;
const KEY = `pyodide ${pyodide.version}; format ${FORMAT}`;
const ENTRY = new URL("pyodide-snapshot", document.baseURI).href;
// Where PyScript writes the [files] of pyscript.toml, and the package to preload from them.
const HOME = "/home/pyodide";
const PACKAGE = "app";
// Keep in step with RECORD in app/snapshot.py.
const RECORD = "_pychat_snapshot";

const root = document.documentElement;
const enabled = root.dataset.snapshot !== "off" && globalThis.isSecureContext === true && !!globalThis.caches;
const report = (state) => {
  root.dataset.snapshot = state;
  performance.mark(`pyodide-snapshot:${state}`); // the history, for when the attribute has moved on
};

// A restore that starts but never gets the app to ready (or ends in its error
// state) must not be tried again: this per-tab mark is set before restoring and
// cleared at ready, and a mark left over from the last load drops the snapshot.
const PENDING = "pychat:snapshot-restoring";
const LOOKUP_MS = 3000; // Cache Storage slower than this: start normally
const RESTORE_MS = 15000; // a restore that has not finished by then is abandoned

function session(action) {
  try {
    return action(sessionStorage);
  } catch {
    return null; // storage blocked: no mark, so only the error state protects
  }
}

function within(ms, promise, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// Looked up as soon as this module is imported.
const cached = enabled ? within(LOOKUP_MS, findSnapshot(), "looking up the snapshot").catch((error) => {
  console.warn("Pyodide snapshot: not used;", error);
  return null;
}) : Promise.resolve(null);

async function findSnapshot() {
  try {
    const cache = await caches.open(CACHE);
    const response = await cache.match(ENTRY);
    if (!response) return null;
    if (session((s) => s.getItem(PENDING))) {
      console.warn("Pyodide snapshot: the last start from it did not get ready; dropping it.");
      await cache.delete(ENTRY);
      session((s) => s.removeItem(PENDING));
      return null;
    }
    if (response.headers.get("X-Snapshot-Key") !== KEY) {
      await cache.delete(ENTRY);
      return null;
    }
    return response;
  } catch (error) {
    console.warn("Pyodide snapshot: Cache Storage could not be read;", error);
    return null;
  }
}

async function dropSnapshot() {
  try {
    await (await caches.open(CACHE)).delete(ENTRY);
  } catch {
    // Nothing cached or no Cache Storage: nothing to drop.
  }
}

// A snapshot is restored as soon as this module is imported (index.html does so
// early), in parallel with PyScript's own start-up: restoring is short and
// mostly waits on reads. A first start is not: its second or so of Python
// initialisation would hold up PyScript's start-up behind it, so that begins
// when PyScript asks, as it does on a stock page.
const restoring = restore();

async function restore() {
  const snapshot = await cached;
  if (!snapshot) return null;
  // Restoring is the longest step now, so the app's files can come meanwhile.
  preloadPython();
  try {
    // Pyodide reads all of it before it instantiates the wasm (it sizes the memory from it).
    // Compiling the wasm here meanwhile measured no faster: on two CPUs the two compete.
    session((s) => s.setItem(PENDING, "1"));
    const memory = snapshot.arrayBuffer().then(unpack);
    const loading = load({ ...options(), _loadSnapshot: memory });
    loading.catch(() => {}); // if it fails after the time limit, nobody is waiting for it any more
    const interpreter = await within(RESTORE_MS, loading, "restoring the snapshot");
    if (interpreter.runPython(FORGET_ZIP_LISTINGS) !== 42) throw new Error("the restored interpreter does not compute");
    interpreter.runPython(INSTALL_FALLBACK);
    report("restored");
    renewWhenStale(interpreter);
    return interpreter;
  } catch (error) {
    console.warn("Pyodide snapshot: could not restore it, starting normally;", error);
    report("failed");
    session((s) => s.removeItem(PENDING));
    await dropSnapshot();
    return null;
  }
}

// The restored memory holds zipimport's listing of the standard library's zip as it was
// when the snapshot was made; the zip itself is fetched anew on every start, and a new
// build of it (serve.py makes one when its inputs change) has other offsets. So the
// listings are dropped, and the next import from the zip, if any, reads the current one.
// (importlib.invalidate_caches() would do it too, but re-reads the zip at once, which is slower.)
const FORGET_ZIP_LISTINGS = `
def _forget_zip_listings():
    import importlib, zipimport
    listings = getattr(zipimport, "_zip_directory_cache", None)
    if isinstance(listings, dict):
        listings.clear()  # zipimporters read it on every lookup, and fill it again when empty
    else:  # a Python that keeps them elsewhere: the public, slower way
        importlib.invalidate_caches()
_forget_zip_listings()
del _forget_zip_listings
6 * 7`;

async function startNormally() {
  const bytecode = fetchBytecode();
  const reused = {};
  const interpreter = await loadFirst(reused);
  interpreter.runPython(INSTALL_FALLBACK);
  unpackBytecode(interpreter, await bytecode);
  if (!enabled) {
    report("off");
    return interpreter;
  }
  if (root.dataset.snapshot !== "failed") report("fresh");
  whenSettled(() => whenIdle(() => afterOffline(() => makeSnapshot(interpreter, reused))));
  return interpreter;
}

// A first start watches Pyodide's two big downloads, the wasm and the standard library, while
// Pyodide loads; whatever it does not catch is fetched as before.
// - While no service worker answers for the page, it fetches their Brotli copies and decodes them
//   (static/runtime-fetch.mjs): a host that only gzips sends about 1.1 MB less. A copy that turns
//   out not to decode is dropped for the file itself. The decoded files are staged for the service
//   worker, which would otherwise download the plain ones again.
// - With snapshots, it keeps what the snapshot worker would otherwise download and compile again:
//   the compiled wasm and the standard library's bytes. Behind a host that sends
//   "Cache-Control: no-cache" without a validator, the worker's requests are not answered from
//   the HTTP cache, and a phone would pay for the runtime twice.
async function loadFirst(reused) {
  const { instantiateStreaming } = WebAssembly;
  const nativeFetch = globalThis.fetch;
  const brotli = wantsBrotli();
  let decodedWasm = false;
  WebAssembly.instantiateStreaming = async (source, imports) => {
    let result;
    try {
      result = await instantiateStreaming.call(WebAssembly, source, imports);
    } catch (error) {
      if (!decodedWasm) throw error;
      console.warn("Runtime: the wasm's Brotli copy did not decode; fetching the wasm itself.", error);
      result = await instantiateStreaming.call(WebAssembly, nativeFetch(WASM_URL, { credentials: "same-origin" }), imports);
    }
    if (enabled) reused.wasm = result.module;
    return result;
  };
  globalThis.fetch = (input, init) => {
    const url = String(input?.url ?? input);
    if (brotli && url === WASM_URL) {
      decodedWasm = true;
      return fetchDecoded(url, "application/wasm", { fetch: nativeFetch, keep: (blob) => stage(url, blob) });
    }
    if (url !== STDLIB_URL) return nativeFetch(input, init);
    const response = brotli ? decodedStdlib(nativeFetch) : nativeFetch(input, init);
    if (enabled) reused.stdlib = response.then((r) => (r.ok ? r.clone().arrayBuffer() : undefined)).catch(() => undefined);
    return response;
  };
  try {
    return await load(options());
  } finally {
    WebAssembly.instantiateStreaming = instantiateStreaming;
    globalThis.fetch = nativeFetch;
  }
}

// Pyodide reads the standard library whole, so it is decoded whole before Pyodide gets it: a copy
// that does not decode is replaced by the file itself, not handed over broken.
async function decodedStdlib(nativeFetch) {
  try {
    const response = await fetchDecoded(STDLIB_URL, "application/zip", { fetch: nativeFetch });
    if (!response.headers.has("X-Decoded-From")) return response;
    const bytes = await response.arrayBuffer();
    stage(STDLIB_URL, new Blob([bytes], { type: "application/zip" }));
    return new Response(bytes, { headers: response.headers });
  } catch (error) {
    console.warn("Runtime: the standard library's Brotli copy did not decode; fetching the file itself.", error);
    return nativeFetch(STDLIB_URL, { credentials: "same-origin" });
  }
}

// The app's modules compiled by the pinned Pyodide (serve.py builds them; see
// scripts/app-bytecode.mjs), so that a first start imports rather than compiles them.
// Each .pyc names the hash of its source, and Python ignores one that does not match
// the file PyScript writes: a stale or missing zip only means compiling as usual.
const BYTECODE_URL = new URL("../runtime/app-bytecode.zip", import.meta.url).href;

async function fetchBytecode() {
  try {
    const response = await fetch(BYTECODE_URL);
    return response.ok ? await response.arrayBuffer() : null;
  } catch {
    return null;
  }
}

function unpackBytecode(interpreter, zipped) {
  if (!zipped) {
    root.dataset.bytecode = "none";
    return;
  }
  try {
    // Its entries are paths under the package ("__pycache__/x.pyc", "view/__pycache__/y.pyc").
    interpreter.unpackArchive(zipped, "zip", { extractDir: `${HOME}/${PACKAGE}` });
    root.dataset.bytecode = "unpacked";
  } catch (error) {
    console.warn("The app's bytecode could not be unpacked; compiling the modules instead.", error);
    root.dataset.bytecode = "failed";
  }
}

// What PyScript calls. It passes its output handlers and the index URL it
// guessed from this module's location; anything else (packages, a lock file)
// was not prepared for, so that gets a separate, ordinary start.
export async function loadPyodide(given = {}) {
  preloadPython();
  const { stdout, stderr, indexURL, ...unprepared } = given;
  if (Object.keys(unprepared).length) {
    return load({ ...given, ...options() });
  }
  const interpreter = (await restoring) ?? (await startNormally());
  if (stdout) interpreter.setStdout({ batched: stdout });
  if (stderr) interpreter.setStderr({ batched: stderr });
  return interpreter;
}

// PyScript fetches the app's Python (index.html lists it) only once Python
// runs. Preloaded from here, when PyScript has fetched its own modules (or as
// soon as a snapshot is found), the files arrive meanwhile and PyScript takes
// them from memory; preloaded from index.html they would hold up PyScript's
// own start-up on a first visit.
let pythonPreloaded = false;

function preloadPython() {
  if (pythonPreloaded) return;
  pythonPreloaded = true;
  let files = [];
  try {
    files = JSON.parse(document.getElementById("python-files")?.textContent || "[]");
  } catch (error) {
    console.warn("index.html's list of Python files is not JSON;", error);
  }
  for (const href of Array.isArray(files) ? files : []) {
    if (typeof href !== "string") continue;
    const link = document.createElement("link");
    Object.assign(link, { rel: "preload", as: "fetch", crossOrigin: "anonymous", href });
    document.head.append(link);
  }
}

// After a restore: ready clears the pending mark (at once: a quick reload must not
// find it); the app's error state drops the snapshot (the next load starts
// normally); and app/snapshot.py drops its record when the app's files changed,
// which asks for a new snapshot.
function renewWhenStale(interpreter) {
  whenSettled(() => {
    session((s) => s.removeItem(PENDING));
    whenIdle(() => {
      const current = interpreter.runPython(`import sys; ${JSON.stringify(RECORD)} in sys.modules`);
      if (!current) makeSnapshot(interpreter);
    });
  }, () => {
    console.warn("Pyodide snapshot: the page failed after starting from it; dropping it.");
    session((s) => s.removeItem(PENDING));
    dropSnapshot().then(() => report("dropped"));
  });
}

// Calls ready() once the app says it is ready, or failed() if it ends in its error state.
function whenSettled(ready, failed = () => {}) {
  const settle = () => {
    const state = root.dataset.appState;
    if (state === "ready") ready();
    else if (state === "error") failed();
    return state !== "loading";
  };
  if (settle()) return;
  const watcher = new MutationObserver(() => {
    if (settle()) watcher.disconnect();
  });
  watcher.observe(root, { attributes: true, attributeFilter: ["data-app-state"] });
}

const whenIdle = (callback) => requestIdleCallback(() => callback(), { timeout: 3000 });

// The snapshot worker imports Pyodide's modules again. Once the service worker (static/offline.js)
// controls the page, it answers them from its cache, which it filled from the browser's; before,
// a host that sends "Cache-Control: no-cache" would have them downloaded a second time. So the
// snapshot waits for it, up to OFFLINE_WAIT_MS (no service worker here: not at all).
const OFFLINE_WAIT_MS = 15000;

function afterOffline(callback) {
  const settled = () => navigator.serviceWorker?.controller || !["installing", undefined].includes(root.dataset.offline)
    || !document.querySelector('meta[name="pychat-version"]')?.content;
  if (settled()) return callback();
  let done = false;
  const go = () => {
    if (done) return;
    done = true;
    watcher.disconnect();
    clearTimeout(timer);
    callback();
  };
  const watcher = new MutationObserver(() => { if (settled()) go(); });
  watcher.observe(root, { attributes: true, attributeFilter: ["data-offline"] });
  navigator.serviceWorker?.addEventListener("controllerchange", go, { once: true });
  const timer = setTimeout(go, OFFLINE_WAIT_MS);
}

// The app's files, and PyScript's own Python package, exactly as this page's Python sees
// them: the worker preloads what it can and compiles the rest (with the standard-library
// modules this page has loaded).
const COMPILED = [PACKAGE, "pyscript"];

function pythonFiles(interpreter) {
  const { FS } = interpreter;
  const files = {};
  const walk = (dir) => {
    for (const name of FS.readdir(dir)) {
      if (name === "." || name === ".." || name === "__pycache__") continue;
      const path = `${dir}/${name}`;
      if (FS.isDir(FS.stat(path).mode)) walk(path);
      else if (name.endsWith(".py")) files[path.slice(HOME.length + 1)] = FS.readFile(path); // bytes, as hashed
    }
  };
  for (const dir of COMPILED) {
    if (FS.analyzePath(`${HOME}/${dir}`).exists) walk(`${HOME}/${dir}`);
  }
  return files;
}

async function makeSnapshot(interpreter, reused = {}) {
  const stdlib = await reused.stdlib;
  let files, standard;
  try {
    files = pythonFiles(interpreter);
    standard = interpreter.runPython(`from ${PACKAGE}.snapshot import standard_modules; standard_modules()`).toJs();
  } catch (error) {
    console.warn("Pyodide snapshot: the app's files could not be read;", error);
    report("unsaved");
    return;
  }
  report("saving");
  const worker = new Worker(new URL("./pyodide-snapshot-worker.mjs", import.meta.url), { type: "module" });
  const finish = (state, error) => {
    worker.terminate();
    if (error) console.warn("Pyodide snapshot: not saved;", error);
    report(state);
  };
  worker.onmessage = ({ data }) => finish(data.ok ? "saved" : "unsaved", data.error);
  worker.onerror = (event) => finish("unsaved", event.message || "the snapshot worker failed");
  try {
    worker.postMessage({ options: options(), files, standard, home: HOME, package: PACKAGE,
                         cache: CACHE, entry: ENTRY, key: KEY, wasm: reused.wasm, stdlib,
                         installFallback: INSTALL_FALLBACK },
                       stdlib ? [stdlib] : []);
  } catch (error) {
    finish("unsaved", error); // a message that cannot be sent (DataCloneError) must not leave "saving"
  }
}
