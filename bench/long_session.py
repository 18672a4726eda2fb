"""A long session in one page: is the 1,000th send as fast as the 100th?

    python3 -m bench.long_session [URL] [--messages 1000]

Part of ``python3 -m bench``; runnable alone against a running ``serve.py``
(its demo proxy streams, so "the reply rendered" is its first words on
screen). One page sends ``--messages`` messages without reloading, the way
the send-latency figure does (Enter after a short pause, time to the
reply's element), and compares the median of the first hundred sends with
that of the last hundred. It also reports how many messages the list holds
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

from serving.browsers import CHROMIUM_ARGS, find_chromium  # noqa: E402

TARGET_RATIO = 1.1  # issue 19: the last hundred sends at most 1.1x the first hundred (p50)
PAUSE_MS = 60  # between filling the input and Enter, as a person would pause
WINDOW = 100

# Time from the Enter keydown to the reply's element appearing (as bench/__main__.py's SEND_PROBE).
PROBE = """(() => {
  window.__sends = [];
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) window.__t0 = performance.now();
  }, true);
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      const sel = '[data-role=assistant]';
      const reply = n.nodeType === 1 && (n.matches(sel) || n.querySelector(sel));
      if (reply && window.__t0) {
        window.__sends.push(performance.now() - window.__t0);
        window.__t0 = 0;
      }
    }
  }).observe(document, {childList: true, subtree: true});
})();"""


def heap_bytes(cdp: Any) -> int:
    cdp.send("HeapProfiler.collectGarbage")
    return int(cdp.send("Runtime.getHeapUsage")["usedSize"])


def long_session(browser: Browser, url: str, count: int) -> dict[str, Any]:
    """Send ``count`` messages in one page; the first and last hundred sends' p50, their ratio, the DOM and heap."""
    context = browser.new_context()
    try:
        context.add_init_script(PROBE)
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("html[data-app-state=ready]", timeout=120_000)
        cdp = context.new_cdp_session(page)
        box = page.get_by_test_id("message-input")
        heap_before = 0
        for i in range(count):
            if i == WINDOW:
                heap_before = heap_bytes(cdp)
            box.fill(f"message {i}")
            page.wait_for_timeout(PAUSE_MS)
            box.press("Enter")
            page.wait_for_function(f"window.__sends.length >= {i + 1}", timeout=30_000)
            page.wait_for_function("!document.querySelector('[aria-busy=true]')", timeout=30_000)
        heap_after = heap_bytes(cdp)
        sends: list[float] = page.evaluate("window.__sends")
        shown = int(page.evaluate("document.querySelectorAll('#message-list .message').length"))
    finally:
        context.close()
    window = min(WINDOW, max(1, count // 2))
    first, last = statistics.median(sends[:window]), statistics.median(sends[-window:])
    return {
        "messages": count,
        "first_p50_ms": first,
        "last_p50_ms": last,
        "ratio": last / first,
        "target_ratio": TARGET_RATIO,
        "messages_in_list": shown,
        "heap_bytes_per_message": (heap_after - heap_before) / max(1, count - WINDOW),
    }


def describe(figures: dict[str, Any]) -> str:
    n = figures["messages"]
    return (f"long session ({n} sends in one page): p50 of the first {WINDOW} {figures['first_p50_ms']:.1f} ms, "
            f"of the last {WINDOW} {figures['last_p50_ms']:.1f} ms, ratio {figures['ratio']:.2f}x "
            f"(target <= {TARGET_RATIO}x); {figures['messages_in_list']} messages in the list at the end; "
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
