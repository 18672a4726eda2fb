"""The app's module list, and the ``pyscript.toml`` and ``index.html`` generated from it.

The app's modules are written down in one place only: the ``app/`` package tree
itself. :func:`app_modules` lists it; the served (and exported) ``pyscript.toml``
gets its ``[files]`` from that list, and ``index.html`` its ``python-files``
preload list, so adding a module (or a sub-package) to ``app/`` is all it takes.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

from app.settings import Character, load_settings  # browser-free: the page's own reading of [chat]
from serving import REPO

APP_PACKAGE = "app"
MAIN_SCRIPT = "app/main.py"  # the page's <script src>: PyScript fetches and runs it, nothing imports it

_TABLE_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]#]+?)\s*\]\]?\s*(?:#.*)?$")
_API_BASE_LINE = re.compile(
    r"""^(?P<lead>\s*api_base\s*=\s*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*')(?P<trail>\s*(?:\#.*)?)$"""
)
_PYTHON_FILES = re.compile(r'(<script\b[^>]*\bid="python-files"[^>]*>)(.*?)(</script>)', re.DOTALL | re.IGNORECASE)


# -- the app's modules -------------------------------------------------------------
def app_modules(repo: Path = REPO) -> list[str]:
    """Every Python file of the app package, relative to ``repo`` and sorted: the one list of the app's modules.

    All of ``app/**/*.py``, sub-packages included; ``__pycache__`` and dot-folders
    (which the page server refuses to serve) are left out.
    """
    app = repo / APP_PACKAGE
    if not app.is_dir():
        return []
    found = []
    for path in app.rglob("*.py"):
        parts = path.relative_to(app).parts
        if path.is_file() and not any(part == "__pycache__" or part.startswith(".") for part in parts):
            found.append(path.relative_to(repo).as_posix())
    return sorted(found)


def imported_modules(modules: Sequence[str]) -> list[str]:
    """The modules the page imports (``[files]``, the bytecode): all but ``main.py``, which it runs as a script."""
    return [module for module in modules if module != MAIN_SCRIPT]


def files_table(modules: Sequence[str]) -> dict[str, str]:
    """``pyscript.toml``'s ``[files]`` for the app: each imported module to the same path under Pyodide's home.

    >>> files_table(["app/__init__.py", "app/main.py", "app/view/__init__.py"])
    {'./app/__init__.py': './app/__init__.py', './app/view/__init__.py': './app/view/__init__.py'}
    """
    return {f"./{module}": f"./{module}" for module in imported_modules(modules)}


def preload_list(modules: Sequence[str], extra_files: Mapping[str, str] | None = None) -> list[str]:
    """The app's Python that PyScript fetches late: the ``[files]`` sources (the catalogues too), then ``main.py``.

    >>> preload_list(["app/__init__.py", "app/main.py"])
    ['./app/__init__.py', './app/main.py']
    """
    return [*files_table(modules), *(extra_files or {}), *(f"./{m}" for m in modules if m == MAIN_SCRIPT)]


# -- pyscript.toml -----------------------------------------------------------------
def with_app_files(toml_text: str, modules: Sequence[str], extra_files: Mapping[str, str] | None = None) -> str:
    """``toml_text`` with the app's modules in its ``[files]`` table (added at the end if it has none).

    A ``[files]`` table of the user's own keeps its entries; an entry for one of
    the app's files that maps it elsewhere is a ValueError, as is ``files``
    written other than as a ``[files]`` table. Every other byte is kept.
    ``extra_files`` (the compiled catalogues) are added after the modules, the same way.

    >>> with_app_files('[chat]\\nx = 1\\n', ["app/main.py", "app/api.py"])
    '[chat]\\nx = 1\\n\\n[files]\\n"./app/api.py" = "./app/api.py"\\n'
    """
    try:
        parsed = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"pyscript.toml is not valid TOML ({error})") from None
    own = parsed.get("files", {})
    wanted = {**files_table(modules), **(extra_files or {})}
    header_end = _files_table_end(toml_text)
    if not isinstance(own, dict) or ("files" in parsed and header_end is None):
        raise ValueError("pyscript.toml must list extra files in a [files] table (serve.py adds the app's to it)")
    for source, target in own.items():
        if source in wanted and target != wanted[source]:
            raise ValueError(
                f"pyscript.toml's [files] maps {source} to {target}: serve.py adds the app's modules "
                "itself, each to its own path; remove that line"
            )
    lines = "".join(f"{json.dumps(s)} = {json.dumps(t)}\n" for s, t in wanted.items() if s not in own)
    if not lines:
        return toml_text
    if header_end is None:
        ending = "" if not toml_text or toml_text.endswith("\n") else "\n"
        return f"{toml_text}{ending}\n[files]\n{lines}"
    head = toml_text[:header_end]
    return head + ("" if head.endswith("\n") else "\n") + lines + toml_text[header_end:]


def _files_table_end(toml_text: str) -> int | None:
    """The offset just after the ``[files]`` header line, or None if there is none."""
    offset = 0
    for line in toml_text.splitlines(keepends=True):
        offset += len(line)
        header = _TABLE_HEADER.match(line.rstrip("\r\n"))
        if header and header.group(1) == "[" and header.group(2) == "files":
            return offset
    return None


def served_config(
    toml_text: str, modules: Sequence[str], api_base: str | None = None, catalogues: Mapping[str, str] | None = None
) -> str:
    """``pyscript.toml`` as the page gets it: ``api_base`` pointed at the proxy (if given), the app's ``[files]``.

    ``catalogues``: ``serving.catalogues.catalogue_files()``, the compiled translations, also in ``[files]``.
    """
    if api_base is not None:
        toml_text = rewrite_api_base(toml_text, api_base)
    return with_app_files(toml_text, modules, catalogues)


def rewrite_api_base(toml_text: str, api_base: str) -> str:
    """Point the ``api_base`` line of the ``[chat]`` table at ``api_base``.

    Only that one line changes; every other byte is kept.

    >>> rewrite_api_base('[chat]\\napi_base = "http://localhost:3000"\\n', "http://127.0.0.1:9")
    '[chat]\\napi_base = "http://127.0.0.1:9"\\n'
    """
    quoted = '"' + api_base.replace("\\", "\\\\").replace('"', '\\"') + '"'
    lines = toml_text.splitlines(keepends=True)
    in_chat = False
    for index, line in enumerate(lines):
        content = line.rstrip("\r\n")
        header = _TABLE_HEADER.match(content)
        if header:
            in_chat = header.group(1) == "[" and header.group(2) == "chat"
            continue
        match = _API_BASE_LINE.match(content) if in_chat else None
        if match:
            lines[index] = match["lead"] + quoted + match["trail"] + line[len(content) :]
            return "".join(lines)
    raise ValueError('pyscript.toml has no api_base = "..." line in its [chat] table')


def configured_api_base(toml_text: str) -> str | None:
    """The ``[chat] api_base`` value of a pyscript.toml, if it has one."""
    try:
        chat = tomllib.loads(toml_text).get("chat", {})
    except tomllib.TOMLDecodeError:
        return None
    value = chat.get("api_base") if isinstance(chat, dict) else None
    return value if isinstance(value, str) else None


def validate_api_url(url: str) -> str:
    """Normalise a ``--api`` URL to ``scheme://host[:port]``; ValueError if unusable."""
    hint = "expected an http:// or https:// URL with no path, e.g. http://localhost:3000"
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"invalid --api URL {url!r}: {hint}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid --api URL {url!r}: {hint}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"invalid --api URL {url!r}: {hint}")
    return f"{parts.scheme.lower()}://{parts.netloc}"


# -- index.html --------------------------------------------------------------------
def with_preload_list(html: str, modules: Sequence[str], extra_files: Mapping[str, str] | None = None) -> str:
    """``index.html`` with its ``python-files`` element holding :func:`preload_list` as JSON.

    A page without that element is returned as it is (it preloads nothing).

    >>> with_preload_list('<script type="application/json" id="python-files">[]</script>', ["app/main.py"])
    '<script type="application/json" id="python-files">\\n  ["./app/main.py"]\\n  </script>'
    """
    listed = json.dumps(preload_list(modules, extra_files)).replace("</", "<\\/").replace(", ", ",\n   ")
    return _PYTHON_FILES.sub(lambda m: f"{m[1]}\n  {listed}\n  {m[3]}", html, count=1)


_PAGE_STRINGS = re.compile(r'(<script\b[^>]*\bid="page-strings"[^>]*>)(.*?)(</script>)', re.DOTALL | re.IGNORECASE)


def with_page_strings(html: str, strings: Mapping[str, object]) -> str:
    """``index.html`` with its ``page-strings`` element holding ``strings`` (``serving.catalogues.page_strings``).

    >>> with_page_strings('<script type="application/json" id="page-strings">{}</script>', {"languages": ["en"]})
    '<script type="application/json" id="page-strings">{"languages":["en"]}</script>'
    """
    listed = json.dumps(strings, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return _PAGE_STRINGS.sub(lambda m: f"{m[1]}{listed}{m[3]}", html, count=1)


_CHARACTER_LIST = re.compile(r'(<ul\b[^>]*\bid="character-list"[^>]*>)(.*?)(</ul>)', re.DOTALL | re.IGNORECASE)


def configured_characters(toml_text: str) -> list[Character]:
    """The characters ``pyscript.toml`` lists, as the page will list them.

    The page's own reading of the ``[chat]`` table (``app.settings.load_settings``): a character
    it would skip is not here. A file that is not TOML, or that the page cannot read (``characters = 5``),
    lists none: the page says why when it starts.

    >>> [c.name for c in configured_characters('[chat]\\n[[chat.characters]]\\nconfig_id = "CHAR_a"\\n'
    ...                                         'name = "Ann"\\n[[chat.characters]]\\nconfig_id = "CHAR_b"\\n')]
    ['Ann', 'CHAR_b']
    """
    try:
        table = tomllib.loads(toml_text).get("chat")
        return load_settings(table if isinstance(table, Mapping) else None).characters
    except Exception:  # noqa: BLE001 - any config at all: no stand-ins, and the page itself says what is wrong
        return []


def with_character_placeholders(html: str, names: Sequence[str]) -> str:
    """``index.html`` with one stand-in per configured character in ``#character-list``, until Python lists them.

    Each has the size of the real entry (the same classes, its name, an empty avatar), so the
    sidebar does not move when the page gets ready; the list's first fill replaces them all.
    Hidden from assistive technology, and not buttons that could be pressed before anything works.

    >>> page = with_character_placeholders('<ul id="character-list" class="character-list"></ul>', ["<b>"])
    >>> page.count("data-placeholder"), '<span class="character-name">&lt;b&gt;</span>' in page
    (1, True)
    """
    items = "".join(
        '<li class="character-item" data-placeholder aria-hidden="true"><span class="character">'
        f'<span class="avatar"></span><span class="character-name">{escape(name)}</span></span></li>'
        for name in names)
    return _CHARACTER_LIST.sub(lambda m: f"{m[1]}{items}{m[3]}", html, count=1)


_MESSAGE_LIST = re.compile(r'(<ol\b[^>]*\bid="message-list"[^>]*>)(.*?)(</ol>)', re.DOTALL | re.IGNORECASE)


def with_greeting_placeholder(html: str, greeting: str) -> str:
    """``index.html`` with the first character's ``greeting`` in ``#message-list``, until Python shows it.

    A first visit opens the first configured character, whose conversation starts with this line;
    ``static/first-visit.js`` hides it from any other visit (a stored session, a chosen character),
    which may open another conversation. The same classes as the message that replaces it, and
    written as text; hidden from assistive technology, which hears the real one.

    >>> page = with_greeting_placeholder('<ol id="message-list"></ol>', "Hi <you>")
    >>> '<div class="bubble" dir="auto" data-role="assistant">Hi &lt;you&gt;</div>' in page
    True
    >>> with_greeting_placeholder('<ol id="message-list"></ol>', "")
    '<ol id="message-list"></ol>'
    """
    if not greeting:
        return html
    item = ('<li class="message assistant" data-placeholder aria-hidden="true">'
            f'<div class="bubble" dir="auto" data-role="assistant">{escape(greeting, quote=False)}</div></li>')
    return _MESSAGE_LIST.sub(lambda m: f"{m[1]}{item}{m[3]}", html, count=1)


def filled_page(html: str, toml_text: str, modules: Sequence[str], catalogues: Mapping[str, str],
                strings: Mapping[str, object]) -> str:
    """``index.html`` as served and exported: its Python files, its words before Python runs
    (``strings``), and the characters of ``toml_text`` and the first one's greeting standing in
    until Python shows them."""
    page = with_page_strings(with_preload_list(html, modules, catalogues), strings)
    characters = configured_characters(toml_text)
    page = with_character_placeholders(page, [c.name for c in characters])
    return with_greeting_placeholder(page, characters[0].greeting if characters else "")


def tree_mtime(repo: Path = REPO) -> float:
    """The latest change to the app's folders: when a module was last added, removed or renamed."""
    app = repo / APP_PACKAGE
    folders = [app, *(p for p in app.rglob("*") if p.is_dir())] if app.is_dir() else []
    return max((folder.stat().st_mtime for folder in folders), default=0.0)
