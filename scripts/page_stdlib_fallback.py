"""Imports what the page's standard library left out, from Pyodide's whole one.

``scripts/stdlib-bytecode.mjs`` builds the page's standard library with only the
modules the page imports (a few hundred KB instead of 2.5 MB), and adds this
module to it as ``_page_stdlib_fallback``, with the names it left out
(``_page_stdlib_left_out.LEFT_OUT``). Anything else of the standard library
that some rarely taken path imports (a codec, ``xml.dom``...) is found here:
the first time one is missing, Pyodide's own ``python_stdlib.zip`` is fetched,
once and synchronously (an import cannot wait), written beside the page's, and
the module imported from it. The page works as with the whole library; only
that first import is slow.

``static/pyodide-snapshot.mjs`` and its snapshot worker call :func:`install`
on every start::

    import _page_stdlib_fallback
    _page_stdlib_fallback.install("https://example.test/runtime/pyodide-314.0.7/python_stdlib.zip")

It runs under CPython in the tests, with a fake ``fetch``.
"""

from __future__ import annotations

import _codecs
import os
import sys
import zipimport
from collections.abc import Callable, Iterable
from importlib.machinery import ModuleSpec
from typing import Any

WHOLE = "/lib/python-stdlib-whole.zip"


def fetch_synchronously(url: str) -> bytes:
    """``url``'s bytes, fetched with a synchronous XMLHttpRequest (an import cannot await); OSError if it fails.

    A worker asks for an ArrayBuffer. A window's synchronous request may not, so there the body
    comes as text in the ``x-user-defined`` charset, which maps byte ``b`` to ``b`` below 0x80
    and to U+F700 + ``b`` above: the low byte of each UTF-16 unit is the byte.
    """
    from js import Uint8Array, XMLHttpRequest  # Pyodide's; imported here so that CPython can import this module
    from pyodide.ffi import JsException

    request = XMLHttpRequest.new()
    request.open("GET", url, False)
    try:
        request.responseType = "arraybuffer"
        as_text = False
    except JsException:  # a window
        request.overrideMimeType("text/plain; charset=x-user-defined")
        as_text = True
    try:
        request.send()
    except JsException as error:  # the request failed: offline, blocked
        raise OSError(f"could not fetch {url}: {error}") from None
    if request.status != 200:
        raise OSError(f"could not fetch {url}: HTTP {request.status}")
    if not as_text:
        return bytes(Uint8Array.new(request.response).to_bytes())
    # _codecs' own function: a codec looked up by name could be one the page's zip left out.
    return _codecs.utf_16_le_encode(str(request.responseText))[0][::2]


def console_warning(text: str) -> None:
    """A warning in the browser's console (stderr would be shown in the page as an error)."""
    try:
        from js import console
    except ImportError:  # not in a browser
        print(text, file=sys.stderr)
    else:
        console.warn(text)


class WholeStdlib:
    """A ``sys.meta_path`` finder for the modules in ``left_out``, from the whole library at ``url``.

    ``left_out`` names the top-level modules the page's zip lacks, and the modules it
    lacks inside the packages it has (``encodings.cp1252``); a left-out package's own
    modules are found through its ``__path__``, in the whole zip. ``fetch(url) -> bytes``
    gets the whole zip, ``path`` is where it is written, ``warn`` says what happened.
    """

    def __init__(self, url: str, left_out: Iterable[str], *,
                 fetch: Callable[[str], bytes] = fetch_synchronously, path: str = WHOLE,
                 warn: Callable[[str], None] = console_warning) -> None:
        self.url, self.left_out = url, frozenset(left_out)
        self.fetch, self.path, self.warn = fetch, path, warn
        self.failed = self.fetching = False

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name not in self.left_out or self.failed or self.fetching or not self._fetched(name):
            return None
        package, _, _ = name.rpartition(".")
        prefix = f"{self.path}/{package.replace('.', '/')}" if package else self.path
        try:
            return zipimport.zipimporter(prefix).find_spec(name)
        except zipimport.ZipImportError:
            return None  # a package the whole library has not either

    def _fetched(self, name: str) -> bool:
        """Whether the whole library is on the file system, fetching it first if need be (once)."""
        if os.path.isfile(self.path):  # checked each time: a snapshot restores memory, not files
            return True
        self.fetching = True  # whatever fetching imports is not fetched for
        try:
            data = self.fetch(self.url)
            partial = f"{self.path}.part"
            with open(partial, "wb") as file:
                file.write(data)
            os.replace(partial, self.path)
        except OSError as error:
            self.failed = True
            self.warn(f"{name} is not in the page's standard library, and the whole one could not be fetched: {error}")
            return False
        finally:
            self.fetching = False
        self.warn(f"{name} is not in the page's standard library: fetched the whole one "
                  "(add it to scripts/startup-modules.txt if the page needs it)")
        return True


def install(url: str, *, fetch: Callable[[str], bytes] = fetch_synchronously) -> WholeStdlib | None:
    """Put a :class:`WholeStdlib` for ``url`` in ``sys.meta_path``, after the path finder; None without a list.

    Replaces one installed before (a restored snapshot has the worker's).
    """
    try:
        from _page_stdlib_left_out import LEFT_OUT  # written into the page's zip beside this module
    except ImportError:
        return None
    finder = WholeStdlib(url, LEFT_OUT, fetch=fetch)
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != WholeStdlib.__name__]
    after = next((n + 1 for n, f in enumerate(sys.meta_path) if getattr(f, "__name__", "") == "PathFinder"),
                 len(sys.meta_path))
    sys.meta_path.insert(after, finder)
    return finder
