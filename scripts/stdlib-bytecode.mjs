// Builds the page's standard library: Pyodide's python_stdlib.zip with the modules the
// page imports at start-up compiled (by the pinned Pyodide, in Node), and without the
// packages a page cannot use.
//
//   node scripts/stdlib-bytecode.mjs <pyodide dir> <startup-modules.txt> <out.zip> [<wheel>...]
//
// Pyodide ships the standard library as source, so every start compiled asyncio,
// typing, inspect, json, re... again: most of a first visit's second or two of Python
// start-up. serve.py runs this (ensure_stdlib) and serves the result as
// runtime/page-stdlib-<pyodide version>.zip, which static/pyodide-snapshot.mjs gives Pyodide.
//
// - Each listed module is stored as an unchecked .pyc in place of its .py, as Python's
//   own embeddable distribution does: zipimport prefers it, and the zip is built and
//   served as one piece, so the two cannot disagree. Tracebacks through these modules
//   show no source lines.
// - Modules Python has frozen in are skipped (it never reads them from the zip).
// - PRUNED packages are left out: they need a terminal, child processes or sockets,
//   which a page has not, or they are test and documentation tools. That pays for most of
//   the compiled modules' extra size (compressed, 1.33 MB as .pyc against 0.69 MB as
//   source; pruning saves 0.39 MB), so the zip grows by about 0.24 MB.
// - Each <wheel> (the page's own packages, requirements-page.txt: markdown-it-py...) is
//   added, every module compiled the same way, so the page imports them like json; its
//   licence and metadata come along, PRUNED_IN_WHEELS does not.
// - The output is the same bytes for the same inputs (entry order and dates are kept).
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const PRUNED = [
  "_pyrepl", "pdb", "pydoc", "pydoc_data", "unittest", "doctest", "multiprocessing",
  "xmlrpc", "wsgiref", "imaplib", "smtplib", "poplib", "ftplib", "idlelib", "tkinter",
  "turtle", "turtledemo", "ensurepip", "venv", "lib2to3",
];

// Parts of the page's packages it cannot use: command-line front ends (a page has no
// terminal), and each wheel's RECORD (the hashes of the sources, which are compiled here).
const PRUNED_IN_WHEELS = ["markdown_it/cli/", ".dist-info/RECORD"];

const [pyodideDir, listFile, out, ...wheels] = process.argv.slice(2);
if (!pyodideDir || !listFile || !out) {
  console.error("usage: node scripts/stdlib-bytecode.mjs <pyodide dir> <startup-modules.txt> <out.zip> [<wheel>...]");
  process.exit(2);
}
const wanted = readFileSync(listFile, "utf8").split("\n").map((line) => line.split("#")[0].trim()).filter(Boolean);
const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const pyodide = await loadPyodide({ indexURL: `${pyodideDir}/`, stdout: () => {}, stderr: () => {} });
pyodide.globals.set("wanted", pyodide.toPy(wanted));
pyodide.globals.set("pruned", pyodide.toPy(PRUNED));
pyodide.FS.mkdirTree("/tmp/wheels");
const wheelPaths = wheels.map((wheel, n) => {
  const path = `/tmp/wheels/${n}.whl`;
  pyodide.FS.writeFile(path, readFileSync(wheel));
  return path;
});
pyodide.globals.set("wheels", pyodide.toPy(wheelPaths));
pyodide.globals.set("pruned_in_wheels", pyodide.toPy(PRUNED_IN_WHEELS));
let summary;
try {
  summary = pyodide.runPython(`
import _imp, importlib.util, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

archive = next(p for p in sys.path if p.endswith(".zip"))
with zipfile.ZipFile(archive) as source:
    entries = {info.filename: info for info in source.infolist()}
    compile_as = {}  # zip entry -> module name
    compiled = 0
    for name in wanted:
        if _imp.is_frozen(name):
            continue
        path = name.replace(".", "/")
        entry = next((e for e in (path + ".py", path + "/__init__.py") if e in entries), None)
        if entry is None:
            raise LookupError(f"{name} is not in {archive}: remove it from the list")
        compile_as[entry] = name
    # /tmp here is in Pyodide's in-memory file system; Node copies the result out below.
    with zipfile.ZipFile("/tmp/page-stdlib.zip", "w", zipfile.ZIP_DEFLATED) as built:
        for info in source.infolist():
            top = info.filename.split("/")[0].removesuffix(".py")
            if top in pruned:
                continue
            data = source.read(info)
            if info.filename in compile_as:
                code = compile(data, f"{archive}/{info.filename}", "exec", dont_inherit=True)
                info = zipfile.ZipInfo(info.filename[:-3] + ".pyc", info.date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                data = _code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False)
            built.writestr(info, data)
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as package:
                for info in package.infolist():
                    if info.is_dir() or info.filename in entries:
                        continue  # a wheel never replaces the standard library
                    if any(part in info.filename for part in pruned_in_wheels):
                        continue
                    data = package.read(info)
                    if info.filename.endswith(".py"):
                        code = compile(data, info.filename, "exec", dont_inherit=True)
                        data = _code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False)
                        info = zipfile.ZipInfo(info.filename[:-3] + ".pyc", info.date_time)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    built.writestr(info, data)
                    compiled += info.filename.endswith(".pyc")
f"{len(compile_as)} modules compiled, {len(entries)} entries read, {compiled} package modules added"
`);
} catch (error) {
  console.error(String(error.message || error).trim().split("\n").at(-1)); // Python's error, not Node's dump
  process.exit(1);
}
writeFileSync(out, pyodide.FS.readFile("/tmp/page-stdlib.zip"));
console.log(summary);
