"""Whether the browser's storage for this page is nearly full, and how to say so.

The browser reports what the origin uses and may use
(``navigator.storage.estimate()``). Nothing is ever deleted to make room: the
user is told, once, and pointed at Export and at the history's Delete.

    >>> quota_warning(50e6, 100e6) is None
    True
    >>> quota_warning(95e6, 100e6)[:43]
    'Browser storage for this page is nearly ful'
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from .i18n import _, number

NEARLY_FULL = 0.9  # of the quota
CHECK_EVERY = 30.0  # seconds between checks after writes: an estimate is cheap, but not free

Estimate = Callable[[], Awaitable[tuple[float, float] | None]]


def quota_warning(usage: float, quota: float) -> str | None:
    """The notice when ``usage`` is at least :data:`NEARLY_FULL` of ``quota`` (bytes), else None."""
    if quota <= 0 or usage < NEARLY_FULL * quota:
        return None
    return _("Browser storage for this page is nearly full ({percent}% of {size} MB used). Nothing is deleted to"
             " make room: export the conversations you want to keep, or delete earlier ones from the history.",
             percent=number(round(100 * usage / quota)), size=number(round(quota / 1e6, 1)))


class QuotaWatch:
    """Asks ``estimate`` at most every :data:`CHECK_EVERY` seconds; ``warn`` gets the notice once."""

    def __init__(self, estimate: Estimate, warn: Callable[[str], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._estimate = estimate
        self._warn = warn
        self._clock = clock
        self._last: float | None = None
        self.warned = False

    def due(self) -> bool:
        return not self.warned and (self._last is None or self._clock() - self._last >= CHECK_EVERY)

    async def check(self) -> None:
        if not self.due():
            return
        self._last = self._clock()
        found = await self._estimate()
        if found is None or self.warned:
            return
        warning = quota_warning(*found)
        if warning is not None:
            self.warned = True
            self._warn(warning)
