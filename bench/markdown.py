"""The final render of a long Markdown reply in the page, and what loading markdown-it costs.

    python3 -m bench.markdown [--words 2000] [--repeat 9]

Part of ``python3 -m bench``; runnable alone. The page is served with a probe
appended to ``app/main.py`` (as the end-to-end tests do) that formats the
reply the way the message list does (``app.markdown`` nodes, JSON, one call
into the builder, then a forced layout) several times, and reads how long
the idle-time import of markdown-it took on a first visit.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.time_markdown import sample_reply  # noqa: E402
from serving.browsers import CHROMIUM_ARGS, find_chromium  # noqa: E402

TARGET_MS = 30.0  # issue 16: a 2,000-word reply's final render

PROBE = """
import json as _json, time as _time
from app import markdown as _markdown
from app.view.formatting import Formatter as _Formatter

def _render_times(text, repeat):
    formatter = _Formatter(_markdown)
    times = []
    for _ in range(repeat):
        started = _time.perf_counter()
        bubble = js.document.createElement("div")
        bubble.className = "bubble markdown"
        js.document.body.appendChild(bubble)
        formatter.build(bubble, formatter.encode(formatter.nodes(text)), 0)
        bubble.offsetHeight  # its layout too, as the reply's would be before it is painted
        times.append((_time.perf_counter() - started) * 1000)
        bubble.remove()
    return times

js.document.documentElement.dataset.markdownRender = _json.dumps(_render_times(__TEXT__, __REPEAT__))
"""


def render_times(browser: Browser, url: str, words: int, repeat: int) -> list[float]:
    """Milliseconds per final render of a ``words``-word reply in the page (the first one is a warm-up)."""
    body = (ROOT / "app" / "main.py").read_text(encoding="utf-8") + "\n" + (
        PROBE.replace("__TEXT__", json.dumps(sample_reply(words))).replace("__REPEAT__", str(repeat + 1))
    )
    context = browser.new_context()
    try:
        page = context.new_page()
        page.route(re.compile(r".*/app/main\.py$"),
                   lambda route: route.fulfill(body=body, content_type="text/x-python"))
        page.goto(url)
        page.wait_for_selector("html[data-markdown-render]", state="attached", timeout=120_000)
        times: list[float] = json.loads(page.locator("html").get_attribute("data-markdown-render") or "[]")
        return times[1:]
    finally:
        context.close()


def summary(times: list[float]) -> dict[str, Any]:
    return {"median_ms": statistics.median(times), "best_ms": min(times), "target_ms": TARGET_MS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8000/", help="the page, as serve.py serves it")
    parser.add_argument("--words", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(playwright), args=CHROMIUM_ARGS)
        times = render_times(browser, args.url, args.words, args.repeat)
        browser.close()
    figures = summary(times)
    print(f"final render of a {args.words}-word Markdown reply: median {figures['median_ms']:.1f} ms, "
          f"best {figures['best_ms']:.1f} ms (target <= {TARGET_MS:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
