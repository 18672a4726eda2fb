"""A long session in one page: is the 1,000th send as fast as the 100th?

    python3 -m bench.long_session [URL] [--messages 1000]

Part of ``python3 -m bench``; runnable alone against a running ``serve.py``
(its demo proxy streams, so "the reply rendered" is its first words on
screen). One page sends ``--messages`` messages without reloading, the way
the send-latency figure does (Enter after a short pause, time to the
reply's element). For its last hundred a fresh page opens beside it and the
two take turns, so the median of the long page's last hundred sends is
compared with the fresh page's first hundred, measured in the same minute.
It also reports its own first hundred (minutes earlier), and how many messages the list holds
at the end (the page keeps the newest few hundred) and the JavaScript heap
per message sent (Chromium's own count, after a collection).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.probes import OFFLINE_SETTLED, SEND_PROBE, SNAPSHOT_SETTLED  # noqa: E402
from serving.browsers import CHROMIUM_ARGS, find_chromium  # noqa: E402

TARGET_RATIO = 1.1  # issue 19: the last hundred sends at most 1.1x the first hundred (p50)
PAUSE_MS = 60  # between filling the input and Enter, as a person would pause
WINDOW = 100

def heap_bytes(cdp: Any) -> int:
    cdp.send("HeapProfiler.collectGarbage")
    return int(cdp.send("Runtime.getHeapUsage")["usedSize"])


class Chat:
    """One page in its own browser context (its own storage), sending as a person would."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.context = browser.new_context()
        self.context.add_init_script(SEND_PROBE)
        self.page = self.context.new_page()
        self.page.goto(url)
        self.page.wait_for_selector("html[data-app-state=ready]", timeout=120_000)
        # A first visit makes its snapshot and installs its worker after ready: let that finish, so
        # neither page's sends share the machine with its own start-up work.
        self.page.wait_for_function(SNAPSHOT_SETTLED, timeout=120_000)
        self.page.wait_for_function(OFFLINE_SETTLED, timeout=120_000)
        self.box = self.page.get_by_test_id("message-input")
        self.sent = 0

    def send(self) -> None:
        """Type, pause, Enter; wait for the reply's element (the probe's time) and for the page to be idle."""
        self.box.fill(f"message {self.sent}")
        self.page.wait_for_timeout(PAUSE_MS)
        self.box.press("Enter")
        self.sent += 1
        self.page.wait_for_function(f"window.__sends.length >= {self.sent}", timeout=30_000)
        self.page.wait_for_function("!document.querySelector('[aria-busy=true]')", timeout=30_000)

    def sends(self) -> list[float]:
        return list(self.page.evaluate("window.__sends"))

    def close(self) -> None:
        self.context.close()


def long_session(browser: Browser, url: str, count: int) -> dict[str, Any]:
    """Send ``count`` messages in one page; its last hundred sends' p50 against a fresh page's first hundred.

    The long page sends ``count - 100`` messages alone. Then a fresh page opens
    beside it, and the two take turns (long, fresh, fresh, long, ...) for the
    last hundred: the long page's sends ``count - 99`` to ``count`` and the
    fresh page's 1 to 100 are timed in the same minute, so the machine's
    drift over a run (a shared 2-CPU machine moves by about 15% a minute)
    falls on both. The first hundred of the long page's own sends, a few
    minutes earlier, are reported too, as the figure a minute apart.
    """
    window = min(WINDOW, max(1, count // 2))
    long = Chat(browser, url)
    fresh: Chat | None = None
    try:
        cdp = long.context.new_cdp_session(long.page)
        heap_before = 0
        while long.sent < count - window:
            if long.sent == window:
                heap_before = heap_bytes(cdp)
            long.send()
        fresh = Chat(browser, url)
        for turn in range(window):
            pair = (long, fresh) if turn % 2 == 0 else (fresh, long)
            for chat in pair:
                chat.send()
        heap_after = heap_bytes(cdp)
        long_sends, fresh_sends = long.sends(), fresh.sends()
        shown = int(long.page.evaluate("document.querySelectorAll('#message-list .message').length"))
    finally:
        long.close()
        if fresh is not None:
            fresh.close()
    return {
        "messages": count,
        **side_by_side(long_sends, fresh_sends, window),
        "messages_in_list": shown,
        "heap_bytes_per_message": (heap_after - heap_before) / max(1, count - window),
    }


def side_by_side(long_sends: list[float], fresh_sends: list[float], window: int = WINDOW) -> dict[str, Any]:
    """The long page's last ``window`` sends' p50 against the fresh page's first, and against its own first.

    >>> f = side_by_side([10, 10, 30, 11, 12, 13], [11, 12, 50], window=3)
    >>> f["last_p50_ms"], f["first_p50_ms"], round(f["ratio"], 2), f["apart_first_p50_ms"]
    (12, 12, 1.0, 10)
    """
    if len(long_sends) < window or len(fresh_sends) < window:
        raise ValueError(f"fewer than {window} sends timed: the probe missed replies")
    first, last = statistics.median(fresh_sends[:window]), statistics.median(long_sends[-window:])
    earlier = statistics.median(long_sends[:window])
    return {
        "window": window,
        "first_p50_ms": first,
        "last_p50_ms": last,
        "ratio": last / first,
        "target_ratio": TARGET_RATIO,
        "apart_first_p50_ms": earlier,
        "apart_ratio": last / earlier,
    }


def describe(figures: dict[str, Any]) -> str:
    n, window = figures["messages"], figures.get("window", WINDOW)
    return (f"long session ({n} sends in one page): p50 of sends {n - window + 1} to {n} "
            f"{figures['last_p50_ms']:.1f} ms, of a fresh page's sends 1 to {window} beside them "
            f"{figures['first_p50_ms']:.1f} ms, ratio {figures['ratio']:.2f}x (target <= {TARGET_RATIO}x); "
            f"against its own first {window} sends, minutes earlier, {figures['apart_first_p50_ms']:.1f} ms, "
            f"{figures['apart_ratio']:.2f}x; {figures['messages_in_list']} messages in the list at the end; "
            f"JS heap {figures['heap_bytes_per_message'] / 1024:.1f} KiB per message")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8000/", help="the page, as serve.py serves it")
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args(argv)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(playwright), args=CHROMIUM_ARGS)
        figures = long_session(browser, args.url, args.messages)
        browser.close()
    print(describe(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
