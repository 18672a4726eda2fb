"""Finding a Chromium to drive with Playwright: for the end-to-end tests, the benchmark and the screenshots.

Playwright cannot download its own browsers everywhere; Debian's ``chromium``
package works, launched with :data:`CHROMIUM_ARGS`.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

# As root Chromium needs --no-sandbox; without the networking flags it keeps trying to reach the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SYSTEM_CHROMIUMS = ("/usr/bin/chromium", "chromium", "chromium-browser")


class ChromiumNotFound(Exception):
    """Neither Playwright's own Chromium nor a system one is installed."""


def find_chromium(playwright: Playwright | None = None) -> str:
    """Playwright's own Chromium if installed, else the system's; :class:`ChromiumNotFound` if none.

    >>> find_chromium()  # doctest: +SKIP
    '/usr/bin/chromium'
    """
    own = playwright.chromium.executable_path if playwright is not None else None
    if own and os.path.exists(own):
        return own
    for name in SYSTEM_CHROMIUMS:
        candidate = name if os.path.isabs(name) else shutil.which(name)
        if candidate and os.path.exists(candidate):
            return candidate
    raise ChromiumNotFound("No Chromium found: install Debian's 'chromium' package (scripts/test.sh does).")
