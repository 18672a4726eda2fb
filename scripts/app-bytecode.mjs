// Compiles the app's Python modules with the pinned Pyodide, in Node, into a zip of
// checked-hash .pyc files: a first visit then imports them without compiling.
//
//   node scripts/app-bytecode.mjs <pyodide dir> <home> <out.zip> <app dir> <path under app dir>...
//
// serve.py runs this (serving/builds.py, ensure_bytecode) and serves the zip as
// runtime/app-bytecode.zip. Its entries are paths under the app package, where Python looks
// for them: "__pycache__/api.cpython-314.pyc", "view/__pycache__/__init__.cpython-314.pyc";
// static/pyodide-snapshot.mjs unpacks it into <home>/app on a normal start.
// Python checks each .pyc against the hash of the source it has, so a stale one is
// ignored (the module is compiled as usual), never run.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const COMPILER = fileURLToPath(new URL("page_compile.py", import.meta.url));

const [pyodideDir, home, out, appDir, ...sources] = process.argv.slice(2);
if (!pyodideDir || !home || !out || !appDir || !sources.length) {
  console.error("usage: node scripts/app-bytecode.mjs <pyodide dir> <home> <out.zip> <app dir> <path under app dir>...");
  process.exit(2);
}
if (sources.some((source) => source.startsWith("/") || source.split("/").includes(".."))) {
  console.error("app-bytecode.mjs: the sources must be paths inside the app dir");
  process.exit(2);
}
const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
// Compiled as the page's standard library is (scripts/page_compile.py): without column
// positions, and without the docstrings of modules and functions, which halves the download.
// Tracebacks keep their line numbers, and their source lines, read from the .py files beside.
const pyodide = await loadPyodide({ indexURL: `${pyodideDir}/`, env: { PYTHONNODEBUGRANGES: "1" } });
const folder = `${home}/app`;
for (const source of sources) {
  const target = `${folder}/${source}`;
  pyodide.FS.mkdirTree(target.slice(0, target.lastIndexOf("/")));
  pyodide.FS.writeFile(target, readFileSync(`${appDir}/${source}`));
}
pyodide.runPython(readFileSync(COMPILER, "utf8"));
pyodide.globals.set("names", pyodide.toPy(sources));
pyodide.globals.set("folder", folder);
pyodide.runPython(`
import importlib.util, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

# Stored, not deflated: the host compresses the whole zip, across files, which does better.
with zipfile.ZipFile("/tmp/app-bytecode.zip", "w", zipfile.ZIP_STORED) as bundle:
    for name in names:
        source = f"{folder}/{name}"
        with open(source, "rb") as file:
            data = file.read()
        pyc = _code_to_hash_pyc(compiled_code(data, source), importlib.util.source_hash(data), checked=True)
        compiled = importlib.util.cache_from_source(source)  # <dir>/__pycache__/<stem>.<tag>.pyc
        bundle.writestr(zipfile.ZipInfo(compiled[len(folder) + 1:], (2020, 1, 1, 0, 0, 0)), pyc)
`);
writeFileSync(out, pyodide.FS.readFile("/tmp/app-bytecode.zip"));
