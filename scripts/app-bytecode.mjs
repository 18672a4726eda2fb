// Compiles the app's Python modules with the pinned Pyodide, in Node, into a zip of
// checked-hash .pyc files: a first visit then imports them without compiling.
//
//   node scripts/app-bytecode.mjs <pyodide dir> <home> <out.zip> <file.py>...
//
// serve.py runs this (ensure_bytecode) and serves the zip as runtime/app-bytecode.zip;
// static/pyodide-snapshot.mjs unpacks it into <home>/app/__pycache__ on a normal start.
// Python checks each .pyc against the hash of the source it has, so a stale one is
// ignored (the module is compiled as usual), never run.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, home, out, ...sources] = process.argv.slice(2);
if (!pyodideDir || !home || !out || !sources.length) {
  console.error("usage: node scripts/app-bytecode.mjs <pyodide dir> <home> <out.zip> <file.py>...");
  process.exit(2);
}
const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const pyodide = await loadPyodide({ indexURL: `${pyodideDir}/` });
pyodide.FS.mkdirTree(`${home}/app`);
for (const source of sources) {
  pyodide.FS.writeFile(`${home}/app/${basename(source)}`, readFileSync(source));
}
pyodide.globals.set("names", pyodide.toPy(sources.map((source) => basename(source))));
pyodide.globals.set("folder", `${home}/app`);
pyodide.runPython(`
import py_compile, sys, zipfile

with zipfile.ZipFile("/tmp/app-bytecode.zip", "w", zipfile.ZIP_DEFLATED) as bundle:
    for name in names:
        compiled = f"/tmp/{name[:-3]}.{sys.implementation.cache_tag}.pyc"
        py_compile.compile(
            f"{folder}/{name}", cfile=compiled, doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )
        bundle.write(compiled, compiled.rsplit("/", 1)[1])
`);
writeFileSync(out, pyodide.FS.readFile("/tmp/app-bytecode.zip"));
