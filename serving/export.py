"""The page as a self-contained static site, for any web server (a sub-path works too)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from serving import PAGE_FILES, REPO, SERVED_DIRS, SetupError
from serving.builds import ensure_bytecode, ensure_stdlib
from serving.catalogues import catalogue_files, ensure_catalogues, page_strings
from serving.config import app_modules, configured_api_base, filled_page, served_config
from serving.csp import add_csp_meta, content_security_policy
from serving.offline import (
    PAGE,
    WORKER,
    built_pins,
    bytes_digest,
    immutable_prefixes,
    integrity,
    offline_files,
    page_sources,
    present,
    site_version,
    static_files,
    with_build,
    with_version,
)
from serving.packages import ensure_page_packages
from serving.precompress import ensure_runtime_copies, remove_copies
from serving.runtime import Runner, ensure_runtime


def check_export_destination(dest: Path, repo: Path) -> None:
    """Refuse (SetupError) a destination that would overwrite the project or what it serves."""
    if dest == repo or dest in repo.parents:
        raise SetupError(f"refusing to export into {dest}: it would overwrite the project itself")
    for name in SERVED_DIRS:
        if dest.is_relative_to(repo / name):
            raise SetupError(f"refusing to export into {dest}: it is inside the project's {name}/")
    if dest.exists() and not dest.is_dir():
        raise SetupError(f"cannot export into {dest}: it is not a folder")


def export_site(
    dest: Path | str,
    api_base: str | None = None,
    *,
    repo: Path = REPO,
    run: Runner = subprocess.run,
) -> list[Path]:
    """Write the page as a self-contained static site into ``dest``; returns the paths written.

    Writes ``index.html`` (with its preload list, its policy as a ``<meta>`` and
    this build's version), ``pyscript.toml`` (with the app's ``[files]``;
    ``api_base`` rewritten only if given), ``sw.js`` (the service worker, with
    the files it caches and the same version), ``app/`` (its .py files),
    ``static/`` and ``runtime/``, replacing earlier exports of those; other
    files in ``dest`` are left alone, but for compressed copies of the page's
    files (``serving.precompress``), which would outlive them. The version is a digest of what was
    written, so exporting a changed page changes ``sw.js`` and returning
    visitors are offered the new one.
    """
    repo = repo.resolve()
    dest = Path(dest).resolve()
    check_export_destination(dest, repo)
    for name in PAGE_FILES:
        if not (repo / name).is_file():
            raise SetupError(f"{repo / name} is missing; nothing to export")
    ensure_runtime(repo, run)
    ensure_bytecode(repo)
    ensure_page_packages(repo, run)
    ensure_stdlib(repo)
    ensure_runtime_copies(repo)  # the page fetches these on a first visit, whatever the host
    ensure_catalogues(repo)
    modules = app_modules(repo)
    toml_text, page = _page_files(repo, modules, api_base)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "pyscript.toml").write_bytes(toml_text.encode("utf-8"))
    (dest / "index.html").write_bytes(page.encode("utf-8"))
    _copy_tree(repo / "app", dest / "app", [repo / module for module in modules])
    if (repo / "static").is_dir():
        _copy_tree(repo / "static", dest / "static")
    _copy_tree(repo / "runtime", dest / "runtime")
    _write_worker(repo, dest, modules, page)
    remove_copies(dest / name for name in PAGE_FILES)  # an earlier export's .gz/.br (the folders were replaced)
    return [dest / name for name in (*PAGE_FILES, *SERVED_DIRS) if (dest / name).exists()]


def _page_files(repo: Path, modules: list[str], api_base: str | None) -> tuple[str, str]:
    """The exported ``pyscript.toml`` and ``index.html``; SetupError if either cannot be made."""
    try:
        toml_text = served_config(
            (repo / "pyscript.toml").read_text(encoding="utf-8"), modules, api_base, catalogue_files(repo)
        )
        # A static host sends no CSP header of ours, so the page carries the same policy itself:
        # its own origin and its proxy only, and loopback only if the proxy is local.
        local = (urlsplit(configured_api_base(toml_text) or "").hostname or "") in ("localhost", "127.0.0.1")
        policy = content_security_policy(toml_text, allow_loopback=local, for_meta=True)
        page = filled_page((repo / "index.html").read_text(encoding="utf-8"), toml_text, modules,
                           catalogue_files(repo), page_strings(repo))
        return toml_text, add_csp_meta(page, policy)
    except (UnicodeDecodeError, ValueError) as error:
        raise SetupError(f"cannot export the page: {error}") from None


def _write_worker(repo: Path, dest: Path, modules: list[str], page: str) -> None:
    """Write ``sw.js`` and fill in ``index.html``'s version, from a digest of the files just written."""
    pins = built_pins(dest / "runtime")
    # The catalogues too, as serve.py lists them: without them an export opened offline (behind a host
    # whose copies have expired) could not start.
    sources = page_sources(modules, catalogue_files(repo))
    files = present(offline_files(sources, static_files(dest / "static"), pins), dest)
    immutable = immutable_prefixes(pins)

    def digest(relative: str) -> str:
        target = dest / ("index.html" if relative == PAGE else relative)
        return bytes_digest(target.read_bytes()) if target.is_file() else "missing"

    version = site_version(files, immutable, digest)
    try:
        worker = with_build((repo / WORKER).read_text(encoding="utf-8"), version, files, immutable,
                            integrity(files, immutable, digest))
    except (UnicodeDecodeError, ValueError) as error:
        raise SetupError(f"cannot export the page: {error}") from None
    (dest / WORKER).write_bytes(worker.encode("utf-8"))
    (dest / "index.html").write_bytes(with_version(page, version).encode("utf-8"))


def _ignore_junk(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n.startswith(".") or n == "__pycache__" or n.endswith(".pyc")}


def _copy_tree(source: Path, target: Path, only: Iterable[Path] | None = None) -> None:
    if target.exists():
        shutil.rmtree(target)
    if only is None:
        shutil.copytree(source, target, ignore=_ignore_junk)
        return
    target.mkdir(parents=True)
    for file in only:
        destination = target / file.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, destination)
