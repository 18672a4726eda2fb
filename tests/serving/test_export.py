"""The static export."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from serving import SetupError
from serving.config import configured_characters, rewrite_api_base, with_character_placeholders
from serving.export import export_site
from tests.serving.fakes import BROTLI_FILES, INDEX_HTML, PYODIDE_FILES, ROOT, SERVED_TOML, TOML, refuse_to_run, write


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_export_site_writes_a_self_contained_site(repo: Path, tmp_path: Path) -> None:
    dest = tmp_path / "site"
    export_site(dest, repo=repo, run=refuse_to_run)
    assert tree(dest) == {
        "index.html",
        "pyscript.toml",
        "sw.js",
        "app/main.py",
        "app/storage.py",
        "static/style.css",
        "static/boot.js",
        "static/data.json",
        "runtime/VERSIONS.json",
        "runtime/page-stdlib-314.0.7.zip",  # Pyodide's own here: this repository has no script to build it
        *(
            f"runtime/pyscript-0.7.31/{n}"
            for n in (
                "core.js",
                "core.js.map",
                "core.css",
                "core-abc123.js",
                "py-editor-x.js",
                "xterm.css",
            )
        ),
        *(f"runtime/pyodide-314.0.7/{n}" for n in PYODIDE_FILES),
        # No .br copies of the wasm and the standard library: this repository has no script to make them.
        *(f"runtime/brotli-dec-wasm-2.3.2/{n}" for n in BROTLI_FILES),
    }


def test_export_site_keeps_pyscript_toml_without_api(repo: Path, tmp_path: Path) -> None:
    export_site(tmp_path / "site", repo=repo, run=refuse_to_run)
    assert (tmp_path / "site" / "pyscript.toml").read_text() == SERVED_TOML


def test_export_site_rewrites_api_base_when_given(repo: Path, tmp_path: Path) -> None:
    export_site(tmp_path / "site", "https://chat.example.test", repo=repo, run=refuse_to_run)
    exported = (tmp_path / "site" / "pyscript.toml").read_text()
    assert exported == rewrite_api_base(SERVED_TOML, "https://chat.example.test")


def test_export_site_replaces_a_previous_export(repo: Path, tmp_path: Path) -> None:
    dest = tmp_path / "site"
    write(dest / "app" / "removed.py")
    write(dest / "README.txt", "mine")
    export_site(dest, repo=repo, run=refuse_to_run)
    assert not (dest / "app" / "removed.py").exists()
    assert (dest / "README.txt").read_text() == "mine"


@pytest.mark.parametrize("relative", [".", "app", "static/sub", "runtime", ".."])
def test_export_site_refuses_to_write_over_the_project(repo: Path, relative: str) -> None:
    with pytest.raises(SetupError, match="refusing"):
        export_site(repo / relative, repo=repo, run=refuse_to_run)
    assert (repo / "index.html").read_text() == INDEX_HTML


def test_export_writes_the_policy_into_index_html(built_repo: Path, tmp_path: Path) -> None:
    dest = tmp_path / "site"
    export_site(dest, "https://proxy.example.org", repo=built_repo, run=refuse_to_run)
    page = (dest / "index.html").read_text(encoding="utf-8")
    assert 'http-equiv="Content-Security-Policy"' in page
    assert "https://proxy.example.org" in page


def test_the_export_lists_every_app_module_in_its_config_and_preload_list(repo: Path, tmp_path: Path) -> None:
    write(repo / "index.html", INDEX_HTML + '<script type="application/json" id="python-files">[]</script>')
    write(repo / "app" / "view" / "__init__.py", "X = 1\n")
    dest = tmp_path / "site"
    export_site(dest, repo=repo, run=refuse_to_run)
    files = tomllib.loads((dest / "pyscript.toml").read_text(encoding="utf-8"))["files"]
    assert {"./app/storage.py", "./app/view/__init__.py"} <= files.keys()
    block = re.search(r'id="python-files">(.*?)</script>', (dest / "index.html").read_text(encoding="utf-8"), re.S)
    assert block is not None
    assert json.loads(block.group(1)) == ["./app/storage.py", "./app/view/__init__.py", "./app/main.py"]
    assert (dest / "app" / "view" / "__init__.py").is_file()


def test_an_export_whose_config_cannot_take_the_app_files_explains_why(repo: Path, tmp_path: Path) -> None:
    write(repo / "pyscript.toml", '[files]\n"./app/storage.py" = "./moved.py"\n')
    with pytest.raises(SetupError, match="cannot export the page: .*moved.py"):
        export_site(tmp_path / "site", repo=repo, run=refuse_to_run)


def test_the_real_export_preloads_exactly_the_python_pyscript_fetches(tmp_path: Path) -> None:
    """pyodide-snapshot.mjs preloads index.html's list: the [files] and main.py, which PyScript fetches late."""
    dest = tmp_path / "site"
    export_site(dest, repo=ROOT)
    files = tomllib.loads((dest / "pyscript.toml").read_text(encoding="utf-8"))["files"]
    block = re.search(r'id="python-files">(.*?)</script>', (dest / "index.html").read_text(encoding="utf-8"), re.S)
    assert block is not None
    listed = json.loads(block.group(1))
    assert sorted(listed) == sorted([*files, "./app/main.py"])
    exported = {f"./{p.relative_to(dest).as_posix()}" for p in (dest / "app").rglob("*.py")}
    catalogues = {f"./{p.relative_to(dest).as_posix()}" for p in (dest / "runtime" / "locales").rglob("*.mo")}
    assert len(catalogues) == 3
    assert set(listed) == exported | catalogues


def test_the_export_ships_the_compiled_catalogues_and_the_words_shown_before_python(
    repo: Path, tmp_path: Path
) -> None:
    write(repo / "locales" / "de" / "LC_MESSAGES" / "pychat.po",
          'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "Send"\nmsgstr "Senden"\n')
    write(repo / "index.html", INDEX_HTML + '<script type="application/json" id="page-strings">{}</script>'
          "<button data-i18n>Send</button>")
    dest = tmp_path / "site"
    export_site(dest, repo=repo, run=refuse_to_run)
    mo = dest / "runtime" / "locales" / "de" / "LC_MESSAGES" / "pychat.mo"
    assert mo.is_file()
    files = tomllib.loads((dest / "pyscript.toml").read_text(encoding="utf-8"))["files"]
    assert files["./runtime/locales/de/LC_MESSAGES/pychat.mo"] == "./app/locales/de/LC_MESSAGES/pychat.mo"
    page = (dest / "index.html").read_text(encoding="utf-8")
    inlined = re.search(r'id="page-strings">(.*?)</script>', page)
    assert inlined is not None
    assert json.loads(inlined[1])["words"] == {"de": {"Send": "Senden"}}
    assert not (repo / "locales" / "de" / "LC_MESSAGES" / "pychat.mo").exists()  # built output stays out of the sources


def test_the_exported_page_stands_in_for_each_character_the_page_will_list(repo: Path, tmp_path: Path) -> None:
    write(repo / "index.html", INDEX_HTML + '<ul id="character-list" class="character-list"></ul>')
    write(repo / "pyscript.toml", TOML + '[[chat.characters]]\nconfig_id = "CHAR_a"\nname = "<Ann & co>"\n'
          '[[chat.characters]]\nconfig_id = ""\nname = "Skipped"\n'
          '[[chat.characters]]\nconfig_id = "CHAR_luna"\nname = "Listed twice"\n'
          '[[chat.characters]]\nconfig_id = "CHAR_b"\n')
    dest = tmp_path / "site"
    export_site(dest, repo=repo, run=refuse_to_run)
    page = (dest / "index.html").read_text(encoding="utf-8")
    names = re.findall(r'<li class="character-item" data-placeholder aria-hidden="true">.*?'
                       r'<span class="character-name">(.*?)</span>', page)
    assert names == ["Luna", "&lt;Ann &amp; co&gt;", "CHAR_b"]  # as the page names them; never as markup


def test_a_config_that_is_not_toml_gets_no_stand_ins() -> None:
    assert configured_characters("[chat\nbroken") == []
    assert with_character_placeholders('<ul id="character-list"></ul>', []) == '<ul id="character-list"></ul>'


def test_the_exported_page_shows_the_first_characters_greeting_as_text(repo: Path, tmp_path: Path) -> None:
    write(repo / "index.html", INDEX_HTML + '<ol id="message-list" class="messages"></ol>')
    write(repo / "pyscript.toml", '[chat]\n[[chat.characters]]\nconfig_id = "CHAR_a"\n'
          'greeting = "<img src=x onerror=alert(1)> & hello"\n[[chat.characters]]\nconfig_id = "CHAR_b"\n'
          'greeting = "not the first"\n')
    dest = tmp_path / "site"
    export_site(dest, repo=repo, run=refuse_to_run)
    page = (dest / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'<div class="bubble" dir="auto" data-role="assistant">(.*?)</div>', page) == [
        "&lt;img src=x onerror=alert(1)&gt; &amp; hello"]


def test_a_config_the_page_cannot_read_still_exports_and_serves_a_page(repo: Path, tmp_path: Path) -> None:
    # characters = 5 is TOML, but not a list: the page says so when it starts; the page is still made.
    write(repo / "index.html", INDEX_HTML + '<ul id="character-list" class="character-list"></ul>')
    write(repo / "pyscript.toml", TOML.replace("[[chat.characters]]", "characters = 5\n[other2]"))
    assert configured_characters((repo / "pyscript.toml").read_text(encoding="utf-8")) == []
    dest = tmp_path / "site"
    export_site(dest, repo=repo, run=refuse_to_run)
    assert "data-placeholder" not in (dest / "index.html").read_text(encoding="utf-8")
