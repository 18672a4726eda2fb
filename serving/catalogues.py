"""The page's translations: ``locales/<lang>/LC_MESSAGES/pychat.po`` compiled to ``.mo`` for Python's ``gettext``.

The ``.po`` files are the source (committed, edited by translators). Each
start of ``serve.py`` and each export compiles the ones that changed into
``runtime/locales/<lang>/LC_MESSAGES/pychat.mo`` (git-ignored, like all of
``runtime/``), with no tool beyond Python: GNU ``.mo`` is a small, documented
format, written here as ``msgfmt`` writes it (fuzzy entries left out).
``pyscript.toml`` gets a ``[files]`` entry for each, so PyScript puts them in
Pyodide's file system under ``app/locales/``, where ``app.i18n`` loads one with
``gettext.translation``.

The words shown before Python runs (``index.html``'s static text, the boot
messages of ``static/boot.js``) come from the same catalogues: the served
``index.html`` carries them, for every language, in its ``page-strings`` JSON
(see :func:`page_strings`), so ``static/language.js`` needs no request.
"""

from __future__ import annotations

import ast
import json
import re
import struct
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from app.i18n import LANGUAGES, RTL_LANGUAGES
from serving import REPO, say

LOCALES = "locales"  # in the repository: <lang>/LC_MESSAGES/pychat.po
DOMAIN = "pychat"
COMPILED = Path("runtime") / "locales"  # served; PyScript copies each into the page's app/locales/
PAGE_TARGET = "./app/locales"
SOURCE_LANGUAGE = LANGUAGES[0]  # the message ids are English: it needs no catalogue


@dataclass
class Entry:
    """One message of a ``.po`` file."""

    msgid: str
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)  # one, or one per plural form
    flags: set[str] = field(default_factory=set)
    comments: list[str] = field(default_factory=list)  # translator comments (``# ...``), without the mark

    @property
    def used(self) -> bool:
        """Whether ``msgfmt`` would compile it: translated, and not fuzzy."""
        return "fuzzy" not in self.flags and bool(self.msgstr) and all(self.msgstr)


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unquote(token: str, where: str) -> str:
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ValueError(f"{where}: expected a quoted string, got {token[:40]!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), token[1:-1])


def read_po(text: str, name: str = "<po>") -> list[Entry]:
    """The entries of a ``.po`` file, the header (``msgid ""``) first if it has one; ValueError if malformed.

    >>> [e.msgstr for e in read_po('msgid "Send"\\nmsgstr "Senden"\\n')]
    [['Senden']]
    """
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None  # which field a continued string goes to
    comments: list[str] = []
    flags: set[str] = set()

    def finish() -> None:
        nonlocal current
        if current is not None:
            entries.append(current)
        current = None

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"{name}:{number}"
        if not line:
            continue
        if line.startswith("#"):
            if current is not None and target is not None and target[0] != "comment":
                finish()
                target = None
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            elif line.startswith("# ") or line == "#":
                comments.append(line[2:])
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            if current is None or target is None:
                raise ValueError(f"{where}: a string continues nothing")
            value = _unquote(line, where)
            if target[0] == "msgid":
                current.msgid += value
            elif target[0] == "msgid_plural":
                current.msgid_plural = (current.msgid_plural or "") + value
            else:
                current.msgstr[target[1]] += value
        elif keyword == "msgid":
            finish()
            current = Entry(_unquote(rest.strip(), where), flags=flags, comments=comments)
            flags, comments, target = set(), [], ("msgid", 0)
        elif keyword == "msgid_plural" and current is not None:
            current.msgid_plural = _unquote(rest.strip(), where)
            target = ("msgid_plural", 0)
        elif keyword == "msgstr" and current is not None:
            current.msgstr = [_unquote(rest.strip(), where)]
            target = ("msgstr", 0)
        elif keyword.startswith("msgstr[") and keyword.endswith("]") and current is not None:
            index = int(keyword[7:-1])
            if index != len(current.msgstr):
                raise ValueError(f"{where}: {keyword} out of order")
            current.msgstr.append(_unquote(rest.strip(), where))
            target = ("msgstr", index)
        else:
            raise ValueError(f"{where}: cannot read {line[:40]!r}")
    finish()
    return entries


def write_mo(entries: list[Entry]) -> bytes:
    """The GNU ``.mo`` file of ``entries`` (the header and the used ones), as ``msgfmt`` writes it."""
    pairs: dict[bytes, bytes] = {}
    for entry in entries:
        if entry.msgid == "" or entry.used:
            ident = entry.msgid if entry.msgid_plural is None else f"{entry.msgid}\0{entry.msgid_plural}"
            pairs[ident.encode("utf-8")] = "\0".join(entry.msgstr).encode("utf-8")
    keys = sorted(pairs)
    header_size = 7 * 4
    originals_at = header_size
    translations_at = originals_at + 8 * len(keys)
    data_at = translations_at + 8 * len(keys)
    originals, translations, data = [], [], b""
    for key in keys:
        originals.append((len(key), data_at + len(data)))
        data += key + b"\0"
    for key in keys:
        translation = pairs[key]
        translations.append((len(translation), data_at + len(data)))
        data += translation + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, len(keys), originals_at, translations_at, 0, data_at)
    for length, offset in (*originals, *translations):
        out += struct.pack("<2I", length, offset)
    return out + data


# -- the catalogues of this repository ----------------------------------------------
def catalogue_languages(repo: Path = REPO) -> list[str]:
    """The languages with a catalogue (``locales/<lang>/LC_MESSAGES/pychat.po``), sorted."""
    root = repo / LOCALES
    return sorted(p.parent.parent.name for p in root.glob(f"*/LC_MESSAGES/{DOMAIN}.po")) if root.is_dir() else []


def po_path(lang: str, repo: Path = REPO) -> Path:
    return repo / LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str, repo: Path = REPO) -> Path:
    return repo / COMPILED / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def load_catalogue(lang: str, repo: Path = REPO) -> list[Entry]:
    path = po_path(lang, repo)
    return read_po(path.read_text(encoding="utf-8"), str(path.relative_to(repo)))


def ensure_catalogues(repo: Path = REPO) -> bool:
    """Compile every ``.po`` whose ``.mo`` is missing or older; True if any was (re)written."""
    wrote = False
    for lang in catalogue_languages(repo):
        source, target = po_path(lang, repo), mo_path(lang, repo)
        if target.is_file() and target.stat().st_mtime_ns >= source.stat().st_mtime_ns:
            continue
        say(f"Compiling the {lang} catalogue...")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".mo.part")
        partial.write_bytes(write_mo(load_catalogue(lang, repo)))
        partial.replace(target)
        wrote = True
    return wrote


def catalogue_files(repo: Path = REPO) -> dict[str, str]:
    """``pyscript.toml``'s ``[files]`` entries for the compiled catalogues: each into the page's ``app/locales/``.

    >>> catalogue_files(Path("/nowhere"))
    {}
    """
    return {
        f"./{COMPILED.as_posix()}/{lang}/LC_MESSAGES/{DOMAIN}.mo": f"{PAGE_TARGET}/{lang}/LC_MESSAGES/{DOMAIN}.mo"
        for lang in catalogue_languages(repo)
    }


# -- the words shown before Python runs ------------------------------------------------
class _MarkedText(HTMLParser):
    """The message ids of ``index.html``: the text of ``data-i18n`` elements, the ``data-i18n-attrs`` attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in (values.get("data-i18n-attrs") or "").split():
            if values.get(name):
                self.ids.append(str(values[name]))
        if "data-i18n" in values:
            self._open.append((tag, []))
        elif self._open and tag != "br":
            self._open[-1][1].append("\0")  # an element inside a marked one: not a plain text

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            _tag, parts = self._open.pop()
            text = "".join(parts)
            if "\0" in text:
                raise ValueError(f"a data-i18n <{tag}> holds elements; mark the text's own element instead")
            self.ids.append(normalise_space(text))


def normalise_space(text: str) -> str:
    """Text as ``static/language.js`` looks it up: runs of white space as one space, trimmed."""
    return " ".join(text.split())


def html_message_ids(html: str) -> list[str]:
    """The message ids ``index.html`` marks (``data-i18n``, ``data-i18n-attrs``), in order, without repeats."""
    parser = _MarkedText()
    parser.feed(html)
    parser.close()
    return list(dict.fromkeys(parser.ids))


_BOOT_TEXT = re.compile(r"""\bt\(\s*(["'])((?:\\.|(?!\1).)*)\1""")


def script_message_ids(script: str) -> list[str]:
    """The message ids of a boot script: the string literals given to its ``t("...")``.

    >>> script_message_ids('status.textContent = t("The page could not start: {message}", {message})')
    ['The page could not start: {message}']
    """
    return list(dict.fromkeys(json.loads(f'"{m[2]}"') if m[1] == '"' else m[2] for m in _BOOT_TEXT.finditer(script)))


def page_message_ids(repo: Path = REPO) -> list[str]:
    """Every message id shown before Python runs: ``index.html``'s, then ``static/boot.js``'s."""
    ids = html_message_ids((repo / "index.html").read_text(encoding="utf-8"))
    boot = repo / "static" / "boot.js"
    if boot.is_file():
        ids += script_message_ids(boot.read_text(encoding="utf-8"))
    return list(dict.fromkeys(ids))


def page_strings(repo: Path = REPO, ids: list[str] | None = None) -> dict[str, object]:
    """What ``index.html``'s ``page-strings`` JSON holds: the shipped languages, and each one's words for ``ids``.

    Only used (not fuzzy) translations are included; a missing one shows the English.
    """
    ids = page_message_ids(repo) if ids is None else ids
    wanted = set(ids)
    words: dict[str, dict[str, str]] = {}
    have = catalogue_languages(repo)
    languages = [lang for lang in LANGUAGES if lang == SOURCE_LANGUAGE or lang in have]
    for lang in languages[1:]:
        words[lang] = {e.msgid: e.msgstr[0] for e in load_catalogue(lang, repo)
                       if e.msgid in wanted and e.msgid_plural is None and e.used}
    return {"languages": languages, "rtl": sorted(set(languages) & RTL_LANGUAGES), "words": words}


# -- the message ids of the Python code ------------------------------------------------
def python_message_ids(source: str) -> list[str | tuple[str, str]]:
    """The literal message ids in Python ``source``: ``_("...")``, ``N_("...")`` and ``ngettext("...", "...", n)``.

    >>> python_message_ids('x = _("Send"); y = ngettext("{count} message", "{count} messages", n)')
    ['Send', ('{count} message', '{count} messages')]
    """
    found: list[str | tuple[str, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
        if node.func.id in ("_", "N_") and args and args[0] is not None:
            found.append(args[0])
        elif node.func.id == "ngettext" and len(args) >= 2 and args[0] is not None and args[1] is not None:
            found.append((args[0], args[1]))
    return found


def app_message_ids(repo: Path = REPO) -> list[str | tuple[str, str]]:
    """Every message id of the app's Python (``app/**/*.py``), in file order, without repeats."""
    ids: list[str | tuple[str, str]] = []
    for path in sorted((repo / "app").rglob("*.py")):
        if "__pycache__" not in path.parts:
            ids += python_message_ids(path.read_text(encoding="utf-8"))
    return list(dict.fromkeys(ids))
