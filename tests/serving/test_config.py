"""The app's module list and the pyscript.toml / index.html generated from it; api_base rewriting."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from serving.config import (
    app_modules,
    files_table,
    preload_list,
    rewrite_api_base,
    served_config,
    validate_api_url,
    with_app_files,
    with_preload_list,
)
from tests.serving.fakes import INDEX_HTML, ROOT, TOML, write


def test_rewrite_api_base_changes_only_the_chat_api_base_line() -> None:
    rewritten = rewrite_api_base(TOML, "http://127.0.0.1:4567")
    before, after = TOML.splitlines(keepends=True), rewritten.splitlines(keepends=True)
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert changed == [
        (
            'api_base = "http://localhost:3000"   # rewritten by serve.py\n',
            'api_base = "http://127.0.0.1:4567"   # rewritten by serve.py\n',
        )
    ]


def test_rewrite_api_base_keeps_crlf_line_endings() -> None:
    text = '[chat]\r\napi_base = "http://localhost:3000"\r\nx = 1\r\n'
    assert rewrite_api_base(text, "https://api.test") == '[chat]\r\napi_base = "https://api.test"\r\nx = 1\r\n'


def test_rewrite_api_base_ignores_api_base_outside_the_chat_table() -> None:
    text = '[chat.characters]\napi_base = "a"\n[chat]\napi_base = "b"\n'
    assert rewrite_api_base(text, "http://c") == '[chat.characters]\napi_base = "a"\n[chat]\napi_base = "http://c"\n'


def test_rewrite_api_base_fails_loudly_without_the_line() -> None:
    with pytest.raises(ValueError, match="api_base"):
        rewrite_api_base('[chat]\ntitle = "x"\n', "http://c")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost:3000", "http://localhost:3000"),
        ("https://chat.example.test/", "https://chat.example.test"),
        ("HTTP://[::1]:3000", "http://[::1]:3000"),
    ],
)
def test_validate_api_url_normalises_good_urls(url: str, expected: str) -> None:
    assert validate_api_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "localhost:3000",
        "ftp://host",
        "http://",
        "http://host/api",
        "http://host?x=1",
        "http://host#frag",
        "http://user:pw@host",
        "http://host:99999",
    ],
)
def test_validate_api_url_rejects_unusable_urls(url: str) -> None:
    with pytest.raises(ValueError, match="--api"):
        validate_api_url(url)


# -- the app's module list ----------------------------------------------------------
def fake_app(root: Path) -> Path:
    """A project whose app has a sub-package, plus what must not count as a module."""
    for relative in ("__init__.py", "main.py", "api.py", "view/__init__.py", "view/main.py", "view/parts/list.py"):
        write(root / "app" / relative, "X = 1\n")
    write(root / "app" / "__pycache__" / "api.cpython-311.pyc", "junk")
    write(root / "app" / "view" / "__pycache__" / "stale.py", "junk")
    write(root / "app" / ".hidden" / "secret.py", "junk")
    write(root / "app" / "notes.txt", "not python")
    return root


def test_the_app_modules_are_every_python_file_under_app_sub_packages_included(tmp_path: Path) -> None:
    assert app_modules(fake_app(tmp_path)) == [
        "app/__init__.py",
        "app/api.py",
        "app/main.py",
        "app/view/__init__.py",
        "app/view/main.py",
        "app/view/parts/list.py",
    ]


def test_a_project_without_app_has_no_modules(tmp_path: Path) -> None:
    assert app_modules(tmp_path) == []


def test_files_leave_out_only_the_top_level_main_script(tmp_path: Path) -> None:
    table = files_table(app_modules(fake_app(tmp_path)))
    assert "./app/main.py" not in table and table["./app/view/main.py"] == "./app/view/main.py"
    assert all(source == target for source, target in table.items())


def test_the_preload_list_is_the_files_then_main(tmp_path: Path) -> None:
    modules = app_modules(fake_app(tmp_path))
    assert preload_list(modules) == [*files_table(modules), "./app/main.py"]


MODULES = ["app/__init__.py", "app/main.py", "app/view/__init__.py"]
APP_FILES = {"./app/__init__.py": "./app/__init__.py", "./app/view/__init__.py": "./app/view/__init__.py"}


def test_a_config_without_files_gets_a_files_table_and_keeps_every_other_byte() -> None:
    config = '# comment\r\ninterpreter = "x"\r\n\r\n[chat]\r\napi_base = "http://a"\r\n'
    served = with_app_files(config, MODULES)
    assert served.startswith(config)
    assert tomllib.loads(served)["files"] == APP_FILES
    assert tomllib.loads(served)["chat"] == {"api_base": "http://a"}


def test_a_users_own_files_table_keeps_its_entries_and_gains_the_apps() -> None:
    config = '[files]\n"./data/names.txt" = "./names.txt"\n"./app/__init__.py" = "./app/__init__.py"\n\n[chat]\n'
    served = tomllib.loads(with_app_files(config, MODULES))
    assert served["files"] == {"./data/names.txt": "./names.txt", **APP_FILES}
    assert served["chat"] == {}


def test_a_users_entry_that_moves_an_app_module_is_refused() -> None:
    with pytest.raises(ValueError, match=r"maps \./app/__init__\.py to \./elsewhere\.py"):
        with_app_files('[files]\n"./app/__init__.py" = "./elsewhere.py"\n', MODULES)


def test_files_written_other_than_as_a_table_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\[files\] table"):
        with_app_files('files = { "./a.txt" = "./a.txt" }\n', MODULES)


def test_the_served_config_has_the_proxy_and_the_app_files() -> None:
    served = tomllib.loads(served_config(TOML, MODULES, "http://127.0.0.1:9"))
    assert served["chat"]["api_base"] == "http://127.0.0.1:9"
    assert served["files"] == {"./app/main.py": "./app/main.py", **APP_FILES}  # the fake TOML's own entry kept


def test_the_preload_list_is_written_into_the_python_files_element() -> None:
    html = '<head><script type="application/json" id="python-files">[]</script></head>'
    filled = with_preload_list(html, MODULES)
    block = re.search(r'id="python-files">(.*?)</script>', filled, re.S)
    assert block is not None and json.loads(block.group(1)) == preload_list(MODULES)
    assert filled.startswith("<head><script") and filled.endswith("</script></head>")


def test_a_page_without_the_python_files_element_is_left_as_it_is() -> None:
    assert with_preload_list(INDEX_HTML, MODULES) == INDEX_HTML


def test_the_project_writes_its_module_list_nowhere_but_in_app() -> None:
    assert "files" not in tomllib.loads((ROOT / "pyscript.toml").read_text(encoding="utf-8"))
    html = (ROOT / "index.html").read_text(encoding="utf-8")
    assert '<script type="application/json" id="python-files">[]</script>' in html


def test_the_projects_served_config_ships_every_module_the_page_imports() -> None:
    served = tomllib.loads(served_config((ROOT / "pyscript.toml").read_text(encoding="utf-8"), app_modules(ROOT)))
    shipped = {source.removeprefix("./") for source in served["files"]}
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "app").rglob("*.py") if "__pycache__" not in p.parts}
    assert shipped == on_disk - {"app/main.py"}
