"""What ``serve.py`` is made of: one module per concern of serving the chat page.

- ``runtime``: the pinned PyScript and Pyodide, copied from ``node_modules`` into ``runtime/``
- ``builds``: the app's bytecode and the page's standard library, compiled with Node
- ``packages``: the Python packages the page ships (markdown-it-py), pinned with hashes and fetched by pip
- ``config``: the app's module list, and the ``pyscript.toml`` and ``index.html`` made from it
- ``csp``: the page's Content-Security-Policy
- ``http``: HTTP plumbing shared by the page server and the demo proxy
- ``static``: the page server
- ``offline``: the service worker's file list and version (the page opens offline)
- ``export``: the page as a static site
- ``browsers``: finding a Chromium for the tests, the benchmark and the screenshots

This module holds only what they all share, and imports none of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
"""The project's root: ``index.html``, ``pyscript.toml``, ``sw.js``, ``app/``, ``static/``, ``runtime/``."""

PAGE_FILES = ("index.html", "pyscript.toml", "sw.js")
SERVED_DIRS = ("app", "static", "runtime")


class SetupError(Exception):
    """Something the user has to fix before the page can be served."""


def say(line: str) -> None:
    """Print one progress line in one write, so that steps running side by side never share a line."""
    sys.stdout.write(f"{line}\n")
    sys.stdout.flush()
