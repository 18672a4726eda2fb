// Builds the page's standard library: only the modules the page imports, compiled (by the
// pinned Pyodide, in Node), with the page's own packages, and a way to the rest.
//
//   node scripts/stdlib-bytecode.mjs <pyodide dir> <startup-modules.txt> <fallback.py> <out.zip> [<wheel>...]
//
// Pyodide ships its whole standard library as source (2.5 MB compressed): every first visit
// downloaded all of it, and compiled asyncio, typing, inspect, json, re... again. serve.py runs
// this (ensure_stdlib) and serves the result as runtime/page-stdlib-<pyodide version>.zip,
// which static/pyodide-snapshot.mjs gives Pyodide.
//
// - It holds the listed modules and every module they import (as this Python imports them),
//   each as an unchecked .pyc in place of its .py, as Python's own embeddable distribution
//   does: zipimport prefers it, and the zip is built and served as one piece, so the two cannot
//   disagree. Compiled without column positions (PYTHONNODEBUGRANGES): tracebacks through these
//   modules keep their line numbers, show no source lines and no ^^^ marks, and the code is a
//   quarter smaller. Modules and functions lose their docstrings, classes keep theirs
//   (scripts/page_compile.py says why): about a sixth less to download. Modules Python has
//   frozen in are skipped (it never reads them from the zip).
// - Nothing else of the standard library: <fallback.py> goes in as _page_stdlib_fallback, and
//   _page_stdlib_left_out names what was left out. If the page ever imports one of those, it
//   fetches Pyodide's whole python_stdlib.zip (once) and imports it from there.
// - Each <wheel> (the page's own packages, requirements-page.txt: markdown-it-py...) is added,
//   every module compiled the same way, so the page imports them like json; its licence and
//   metadata come along, PRUNED_IN_WHEELS does not.
// - Its entries are stored, not deflated: a host's gzip or Brotli then compresses across files,
//   which does better than one file at a time, and Python reads them without inflating.
// - The output is the same bytes for the same inputs (entry order and dates are kept).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const COMPILER = fileURLToPath(new URL("page_compile.py", import.meta.url));

// Parts of the page's packages it cannot use: command-line front ends (a page has no
// terminal), and each wheel's RECORD (the hashes of the sources, which are compiled here).
const PRUNED_IN_WHEELS = ["markdown_it/cli/", ".dist-info/RECORD"];

const [pyodideDir, listFile, fallbackFile, out, ...wheels] = process.argv.slice(2);
if (!pyodideDir || !listFile || !fallbackFile || !out) {
  console.error("usage: node scripts/stdlib-bytecode.mjs <pyodide dir> <startup-modules.txt> <fallback.py> <out.zip> [<wheel>...]");
  process.exit(2);
}
const wanted = readFileSync(listFile, "utf8").split("\n").map((line) => line.split("#")[0].trim()).filter(Boolean);
const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const pyodide = await loadPyodide({
  indexURL: `${pyodideDir}/`, env: { PYTHONNODEBUGRANGES: "1" }, stdout: () => {}, stderr: () => {},
});
pyodide.runPython(readFileSync(COMPILER, "utf8"));
pyodide.globals.set("wanted", pyodide.toPy(wanted));
pyodide.globals.set("fallback_source", readFileSync(fallbackFile, "utf8"));
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
import _imp, importlib, importlib.util, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

archive = next(p for p in sys.path if p.endswith(".zip"))


def compiled(source, filename):
    code = compiled_code(source, filename)
    return _code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False)


def module_name(entry):
    return entry.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


with zipfile.ZipFile(archive) as source:
    entries = {info.filename: info for info in source.infolist()}
    needed = set()  # zip entries
    for name in wanted:
        if _imp.is_frozen(name):
            continue
        path = name.replace(".", "/")
        entry = next((e for e in (path + ".py", path + "/__init__.py") if e in entries), None)
        if entry is None:
            raise LookupError(f"{name} is not in {archive}: remove it from the list")
        needed.add(entry)
    for name in wanted:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - one that needs a browser: its own file is kept, as listed
            pass
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        if file.startswith(archive + "/") and file[len(archive) + 1:] in entries and not _imp.is_frozen(name):
            needed.add(file[len(archive) + 1:])
    packages = {module_name(e) for e in needed if e.endswith("/__init__.py")}
    kept_names = {module_name(e) for e in needed}
    left_out = sorted(
        name for name in (module_name(e) for e in entries if e.endswith(".py"))
        if name not in kept_names and not _imp.is_frozen(name)
        and ("." not in name or name.rpartition(".")[0] in packages)
    )
    added = 0
    # /tmp here is in Pyodide's in-memory file system; Node copies the result out below.
    with zipfile.ZipFile("/tmp/page-stdlib.zip", "w", zipfile.ZIP_STORED) as built:
        for info in source.infolist():
            folder = info.filename.rpartition("/")[0]
            if info.filename in needed:
                data = compiled(source.read(info), f"{archive}/{info.filename}")
                built.writestr(zipfile.ZipInfo(info.filename[:-3] + ".pyc", info.date_time), data)
            elif not info.filename.endswith(".py") and not info.is_dir() and module_name(folder) in packages:
                built.writestr(zipfile.ZipInfo(info.filename, info.date_time), source.read(info))  # a package's data
        when = (2020, 1, 1, 0, 0, 0)
        built.writestr(zipfile.ZipInfo("_page_stdlib_fallback.pyc", when),
                       compiled(fallback_source.encode(), "_page_stdlib_fallback.py"))
        listing = "# What the page's standard library left out (scripts/stdlib-bytecode.mjs).\\n" \\
                  f"LEFT_OUT = frozenset({left_out!r})\\n"
        built.writestr(zipfile.ZipInfo("_page_stdlib_left_out.pyc", when),
                       compiled(listing.encode(), "_page_stdlib_left_out.py"))
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as package:
                for info in package.infolist():
                    if info.is_dir() or info.filename in entries:
                        continue  # a wheel never replaces the standard library
                    if any(part in info.filename for part in pruned_in_wheels):
                        continue
                    data = package.read(info)
                    if info.filename.endswith(".py"):
                        data = compiled(data, info.filename)
                        info = zipfile.ZipInfo(info.filename[:-3] + ".pyc", info.date_time)
                    info.compress_type = zipfile.ZIP_STORED
                    built.writestr(info, data)
                    added += info.filename.endswith(".pyc")
f"{len(needed)} of {len(entries)} standard-library entries kept, compiled; {len(left_out)} names left out; {added} package modules added"
`);
} catch (error) {
  console.error(String(error.message || error).trim().split("\n").at(-1)); // Python's error, not Node's dump of Pyodide
  process.exit(1);
}
writeFileSync(out, pyodide.FS.readFile("/tmp/page-stdlib.zip"));
console.log(summary);
