"""The service worker's build (serving/offline.py): what it caches, its version, how they are served and exported."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from pathlib import Path

from serving.export import export_site
from serving.offline import (
    immutable_prefixes,
    integrity,
    offline_files,
    site_version,
    static_files,
    with_build,
    with_version,
)
from tests.serving.fakes import PINS, ROOT, refuse_to_run, run_page, write

PAGE_WITH_VERSION = '<!doctype html><meta charset="utf-8"><meta name="pychat-version" content=""><title>Chat</title>'
BUILD = re.compile(r"^const BUILD = (.*);$", re.MULTILINE)


def build_of(worker: str) -> dict[str, object]:
    found = BUILD.search(worker)
    assert found, "sw.js has no BUILD line"
    return dict(json.loads(found[1]))


def version_of(page: str) -> str:
    found = re.search(r'<meta name="pychat-version" content="([^"]*)">', page)
    assert found, "the page has no version"
    return found[1]


def test_the_worker_caches_the_page_config_app_static_and_the_runtime_the_page_loads() -> None:
    files = offline_files(["app/main.py", "app/api.py"], ["static/boot.js"], PINS)
    assert files == [
        "./", "pyscript.toml", "app/api.py", "app/main.py", "static/boot.js",
        "runtime/app-bytecode.zip", "runtime/page-stdlib-314.0.7.zip", "runtime/pyscript-0.7.31/core.js",
        "runtime/pyodide-314.0.7/pyodide.mjs", "runtime/pyodide-314.0.7/pyodide.asm.mjs",
        "runtime/pyodide-314.0.7/pyodide.asm.wasm",
    ]
    assert not [f for f in files if "api/" in f.replace("app/api.py", "") or f.startswith("/")]


def test_the_worker_may_take_a_file_from_the_browsers_cache_only_with_this_builds_digest() -> None:
    files = ["./", "app/main.py", "runtime/pyodide-314.0.7/pyodide.asm.wasm", "static/gone.css"]
    main = hashlib.sha256(b"print(1)").hexdigest()
    hex_digests = {"./": "ab" * 32, "app/main.py": main, "static/gone.css": "missing"}
    values = integrity(files, immutable_prefixes(PINS), hex_digests.__getitem__)
    # Browsers check a response against "sha256-" and the base64 of its SHA-256.
    assert values == {"app/main.py": "sha256-" + base64.b64encode(hashlib.sha256(b"print(1)").digest()).decode()}


def test_without_a_built_runtime_no_runtime_file_is_listed() -> None:
    assert offline_files([], [], None) == ["./", "pyscript.toml"] and immutable_prefixes(None) == []


def test_the_version_changes_with_any_listed_file_but_reads_no_version_named_one() -> None:
    files = ["./", "app/main.py", "runtime/pyodide-314.0.7/pyodide.asm.wasm"]
    immutable = immutable_prefixes(PINS)
    contents = {"./": "page", "app/main.py": "print(1)"}
    version = site_version(files, immutable, lambda path: contents[path])  # a KeyError if it read the wasm
    assert re.fullmatch("[0-9a-f]{16}", version)
    assert site_version(files, immutable, lambda path: {**contents, "app/main.py": "print(2)"}[path]) != version
    assert site_version([*files, "static/new.css"], immutable, lambda path: contents.get(path, "")) != version


def test_the_build_line_and_the_page_version_are_filled_in() -> None:
    worker = with_build((ROOT / "sw.js").read_text(encoding="utf-8"), "v1", ["./", "app/main.py"], ["runtime/x-1/"],
                        {"app/main.py": "sha256-AA=="})
    assert build_of(worker) == {"version": "v1", "files": ["./", "app/main.py"], "immutable": ["runtime/x-1/"],
                                "integrity": {"app/main.py": "sha256-AA=="}}
    assert version_of(with_version(PAGE_WITH_VERSION, "v1")) == "v1"


def test_static_files_leave_out_dot_files_and_caches(repo: Path) -> None:
    write(repo / "static" / "__pycache__" / "x.pyc", "junk")
    write(repo / "static" / "icons" / "icon-192.png", "png")
    assert static_files(repo / "static") == [
        "static/boot.js", "static/data.json", "static/icons/icon-192.png", "static/style.css"]


def test_the_served_worker_and_page_name_the_same_version_and_list_what_is_served(built_repo: Path) -> None:
    write(built_repo / "index.html", PAGE_WITH_VERSION)
    for page in run_page(built_repo, None):
        status, headers, body = page.get("/sw.js")
        version = version_of(page.get("/")[2].decode())
        listed = build_of(body.decode())
        served = {path: page.get("/" + path.removeprefix("./"))[0] for path in listed["files"]}  # type: ignore[attr-defined]
    assert (status, headers["Content-Type"], headers["Cache-Control"]) == (
        200, "text/javascript; charset=utf-8", "no-cache")
    assert listed["version"] == version
    assert set(served.values()) == {200}, served
    assert listed["immutable"] == ["runtime/pyodide-314.0.7/", "runtime/pyscript-0.7.31/"]


def test_a_changed_app_file_changes_the_served_worker(built_repo: Path) -> None:
    write(built_repo / "index.html", PAGE_WITH_VERSION)
    for page in run_page(built_repo, None):
        before = page.get("/sw.js")
        time.sleep(0.01)
        write(built_repo / "app" / "storage.py", "KEY = 2\n")
        after = page.get("/sw.js", headers={"If-None-Match": before[1]["ETag"]})
        page_version = version_of(page.get("/")[2].decode())
    assert after[0] == 200 and after[1]["ETag"] != before[1]["ETag"]
    assert build_of(after[2].decode())["version"] == page_version != build_of(before[2].decode())["version"]


def test_the_manifest_is_served_as_a_manifest(built_repo: Path) -> None:
    write(built_repo / "static" / "manifest.webmanifest", "{}")
    for page in run_page(built_repo, None):
        status, headers, _ = page.get("/static/manifest.webmanifest")
    assert (status, headers["Content-Type"]) == (200, "application/manifest+json; charset=utf-8")


def test_the_export_writes_the_worker_with_the_version_its_page_names(repo: Path, tmp_path: Path) -> None:
    write(repo / "index.html", PAGE_WITH_VERSION)
    dest = tmp_path / "site"
    export_site(dest, repo=repo, run=refuse_to_run)
    first = build_of((dest / "sw.js").read_text(encoding="utf-8"))
    page = (dest / "index.html").read_text(encoding="utf-8")
    assert first["version"] == version_of(page)
    assert all((dest / path).is_file() or path == "./" for path in first["files"])  # type: ignore[attr-defined]

    write(repo / "static" / "style.css", "body { color: red }")
    export_site(dest, repo=repo, run=refuse_to_run)
    again = build_of((dest / "sw.js").read_text(encoding="utf-8"))
    assert again["version"] != first["version"]
    assert again["version"] == version_of((dest / "index.html").read_text(encoding="utf-8"))


def test_the_real_manifest_is_relative_standalone_and_names_icons_that_exist() -> None:
    manifest = json.loads((ROOT / "static" / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert manifest["display"] == "standalone" and manifest["start_url"] == manifest["scope"] == "../"
    for icon in manifest["icons"]:
        assert (ROOT / "static" / icon["src"]).is_file()


def test_the_exports_worker_keeps_every_languages_catalogue_as_serve_py_does(repo: Path, tmp_path: Path) -> None:
    # Without them, an export opened offline behind a host whose copies had expired could not start.
    write(repo / "index.html", PAGE_WITH_VERSION)
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
    write(repo / "locales" / "de" / "LC_MESSAGES" / "pychat.po", header)
    dest = tmp_path / "site"
    export_site(dest, repo=repo, run=refuse_to_run)

    files = build_of((dest / "sw.js").read_text(encoding="utf-8"))["files"]
    assert "runtime/locales/de/LC_MESSAGES/pychat.mo" in files  # type: ignore[operator]
    assert (dest / "runtime" / "locales" / "de" / "LC_MESSAGES" / "pychat.mo").is_file()
