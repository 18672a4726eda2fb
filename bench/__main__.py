"""Start-up and send-latency benchmark: this page against stock PyScript and plain JavaScript.

    python3 -m bench [--reloads 7] [--first-visits 7] [--messages 50]

Runs headless Chromium on localhost and prints one table; writes the figures to
bench/results/latest.json and a bar chart to bench/results/latest.png. Every
figure in one run is measured side by side on the same machine, so compare
the ratios, not the absolute times (shared machines are noisy).

Pages: (a) the chat page as served by serve.py, (b) a stock PyScript page on
the same pinned runtime that reads one localStorage key, (c) a plain
JavaScript page doing the same (and, for send latency, the same request).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo_proxy import make_proxy_server  # noqa: E402
from serving.browsers import CHROMIUM_ARGS, find_chromium  # noqa: E402
from serving.builds import ensure_bytecode, ensure_stdlib  # noqa: E402
from serving.packages import ensure_page_packages  # noqa: E402
from serving.runtime import cache_control, ensure_runtime, versioned_runtime_dirs  # noqa: E402
from serving.static import make_static_server  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PAGES = Path(__file__).resolve().parent / "pages"

# Records when <html data-app-state> becomes "ready", from navigation start.
READY_PROBE = """(() => {
  const mark = () => {
    if (!window.__readyAt && document.documentElement?.dataset.appState === 'ready') {
      window.__readyAt = performance.now();
    }
  };
  new MutationObserver(mark).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-app-state']});
})();"""

# Time from the Enter keydown to the reply's element appearing.
SEND_PROBE = """(() => {
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


class BaselineHandler(http.server.SimpleHTTPRequestHandler):
    """The baselines' server, with serve.py's cache headers, so that reloads compare the pages.

    The version-named runtime directories are immutable; everything else is revalidated.
    """

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}

    def __init__(self, *args: Any, versioned: frozenset[str], **kwargs: Any) -> None:
        self.versioned = versioned
        super().__init__(*args, **kwargs)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", cache_control(self.path, self.versioned))
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve_in_thread(server: Any) -> Callable[[], None]:
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop


@contextmanager
def servers() -> Iterator[dict[str, str]]:
    """The demo proxy, serve.py's page server, and a plain static server for the baselines."""
    ensure_runtime(ROOT)
    ensure_bytecode(ROOT)
    ensure_page_packages(ROOT)
    ensure_stdlib(ROOT)
    proxy = make_proxy_server("127.0.0.1", 0)
    api = f"http://127.0.0.1:{proxy.server_address[1]}"
    page = make_static_server("127.0.0.1", 0, api, repo=ROOT, verbose=False)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        (site / "runtime").symlink_to(ROOT / "runtime")
        for name in ("stock", "plain"):
            shutil.copytree(PAGES / name, site / name)
        handler = functools.partial(BaselineHandler, directory=str(site),
                                    versioned=versioned_runtime_dirs(ROOT / "runtime"))
        baseline = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        stops = [_serve_in_thread(s) for s in (proxy, page, baseline)]
        base = f"http://127.0.0.1:{baseline.server_address[1]}"
        try:
            yield {
                "this page": f"http://127.0.0.1:{page.server_address[1]}/",
                "stock PyScript": f"{base}/stock/",
                "plain JavaScript": f"{base}/plain/?api={api}",
                "api": api,
            }
        finally:
            for stop in stops:
                stop()


def ready_ms(page: Page, url: str | None = None) -> float:
    if url is None:
        page.reload()
    else:
        page.goto(url)
    page.wait_for_function("window.__readyAt", timeout=120_000)
    return float(page.evaluate("window.__readyAt"))


def new_context(browser: Browser) -> BrowserContext:
    context = browser.new_context()
    context.add_init_script(READY_PROBE)
    return context


def first_visit(browser: Browser, url: str) -> tuple[float, int]:
    """Time to ready and bytes transferred with a fresh profile (no HTTP or code cache)."""
    context = new_context(browser)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    received: list[float] = []
    cdp.on("Network.loadingFinished", lambda event: received.append(event["encodedDataLength"]))
    ms = ready_ms(page, url)
    page.wait_for_timeout(300)
    context.close()
    return ms, int(sum(received))


# The chat page saves a Pyodide snapshot after its first start (static/pyodide-snapshot.mjs);
# a returning visitor has it, so reloads are measured once it is stored. Other pages have no such state.
SNAPSHOT_SETTLED = "!['fresh', 'failed', 'saving'].includes(document.documentElement.dataset.snapshot)"
SNAPSHOT_STATES = ("performance.getEntriesByType('mark').filter(m => m.name.startsWith('pyodide-snapshot:'))"
                   ".map(m => m.name.slice(17)).join(' ')")


SETTLE_MS = 1000


class Returning:
    """A returning visitor: one profile that has loaded ``url`` once (and stored what it stores)."""

    def __init__(self, browser: Browser, url: str, seed: str | None = None) -> None:
        self.url = url
        self.context = new_context(browser)
        self.page = self.context.new_page()
        ready_ms(self.page, url)
        self.page.wait_for_function(SNAPSHOT_SETTLED, timeout=120_000)
        if seed:
            self.page.evaluate(seed)
        ready_ms(self.page)  # a warm-up reload, not counted (for every page alike)
        self.times: list[float] = []

    def reload(self) -> None:
        self.times.append(ready_ms(self.page))
        # A page keeps working after it is ready (V8 optimises a runtime's wasm in the
        # background, the collector runs). Let that finish here, so it does not land on
        # the next profile's reload: stock PyScript leaves the most of it.
        self.page.wait_for_timeout(SETTLE_MS)
        state = self.page.evaluate(SNAPSHOT_STATES)
        if state and "restored" not in state:
            print(f"  note: a reload of {self.url} did not start from its snapshot ({state})", file=sys.stderr)

    def close(self) -> float:
        """Close the profile; the median of its reloads."""
        self.context.close()
        return statistics.median(self.times)


def reloads(browser: Browser, urls: dict[str, tuple[str, str | None]], count: int) -> dict[str, float]:
    """Median time to ready over ``count`` reloads for each of ``urls`` ({label: (url, seed)}).

    Each label has its own profile; the reloads take turns between them (a, b,
    c, a, b, c...), so a noisy moment or a warming browser favours none.
    """
    visitors = {label: Returning(browser, url, seed) for label, (url, seed) in urls.items()}
    for _ in range(count):
        for visitor in visitors.values():
            visitor.reload()
    return {label: visitor.close() for label, visitor in visitors.items()}


# A person types, pauses, then presses Enter. Pressing it within a few milliseconds of typing
# (Playwright's fill, then press) made the p50 a coin toss: whether Chromium's frame after
# the key press came at once or at the next vsync depended on where the typing's frame
# fell, so each page's sends split into two groups about 8 ms apart, in proportions that
# changed from run to run. After a pause the frame comes at once, as it does for a person.
TYPING_PAUSE_MS = 100


def send_latency(browser: Browser, url: str, input_selector: str, count: int) -> tuple[float, float]:
    """p50 and p95 from pressing Enter to the reply rendered, over ``count`` messages (after 5 warm-ups).

    Measured once the page has settled: after a first visit, the chat page makes its
    snapshot in a worker, which shares the CPU for a few seconds (the plain page has no such work).
    """
    context = new_context(browser)
    context.add_init_script(SEND_PROBE)
    page = context.new_page()
    ready_ms(page, url)
    page.wait_for_function(SNAPSHOT_SETTLED, timeout=120_000)
    box = page.locator(input_selector)
    for i in range(count + 5):
        box.fill(f"message {i}")
        page.wait_for_timeout(TYPING_PAUSE_MS)
        box.press("Enter")
        page.wait_for_function(f"window.__sends.length >= {i + 1}", timeout=30_000)
        page.wait_for_timeout(20)
    samples = sorted(page.evaluate("window.__sends")[5:])
    context.close()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def seed_conversation(messages: int) -> str:
    return f"""(() => {{
      const list = [];
      for (let i = 0; i < {messages}; i++) list.push({{role: i % 2 ? 'assistant' : 'user',
        text: 'Message ' + i + ': ' + 'a fairly ordinary sentence about the stars. '.repeat(2)}});
      localStorage.setItem('pychat:transcript:CHAR_luna', JSON.stringify(list));
    }})()"""


def seed_characters(count: int) -> str:
    return f"""(() => {{
      const ids = [];
      for (let i = 0; i < {count}; i++) {{
        ids.push('CHAR_bench_' + i);
        localStorage.setItem('session_CHAR_bench_' + i, 'sess_' + i);
      }}
      localStorage.setItem('pychat:characters', JSON.stringify(ids));
    }})()"""


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine()}
    with servers() as urls, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(playwright), args=CHROMIUM_ARGS)
        results["chromium"] = browser.version
        pages = ("this page", "stock PyScript", "plain JavaScript")
        # First visits take turns (a, b, c, a, b, c...), so a noisy moment or a warmer
        # browser process does not favour one page.
        visits: dict[str, list[tuple[float, int]]] = {name: [] for name in pages}
        for _ in range(args.first_visits):
            for name in pages:
                visits[name].append(first_visit(browser, urls[name]))
        ours = urls["this page"]
        # Two rounds of three profiles each (more open pages slow every reload): the three
        # pages, then this page with nothing, 2,000 messages and 200 characters stored.
        reload_ms = reloads(browser, {name: (urls[name], None) for name in pages}, args.reloads)
        long_ms = reloads(browser, {
            "none": (ours, None),
            "2,000 messages": (ours, seed_conversation(2000)),
            "200 characters": (ours, seed_characters(200)),
        }, args.reloads)
        for name in pages:
            results[name] = {
                "first_visit_ms": statistics.median(v[0] for v in visits[name]),
                "first_visit_bytes": visits[name][0][1],
                "reload_ms": reload_ms[name],
            }
        results["this page"].update(
            reload_stored_nothing_ms=long_ms["none"],
            reload_2000_messages_ms=long_ms["2,000 messages"],
            reload_200_characters_ms=long_ms["200 characters"],
        )
        print("  measured start-up and long conversations", file=sys.stderr)
        for name, selector in (("this page", "[data-testid=message-input]"), ("plain JavaScript", "#input")):
            p50, p95 = send_latency(browser, urls[name], selector, args.messages)
            results[name].update(send_p50_ms=p50, send_p95_ms=p95)
        print("  measured send latency", file=sys.stderr)
        chart(browser, results)
        browser.close()
    return results


def machine() -> str:
    cpus = len(__import__("os").sched_getaffinity(0))
    return f"{platform.system()} {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}"


def table(r: dict[str, Any]) -> str:
    a, b, c = r["this page"], r["stock PyScript"], r["plain JavaScript"]
    rows = [
        ("first visit, ready (ms)", a["first_visit_ms"], b["first_visit_ms"], c["first_visit_ms"]),
        ("reload, ready (median ms)", a["reload_ms"], b["reload_ms"], c["reload_ms"]),
        ("first visit, transferred (MB)", a["first_visit_bytes"] / 1e6, b["first_visit_bytes"] / 1e6,
         c["first_visit_bytes"] / 1e6),
        ("send p50 (ms)", a["send_p50_ms"], None, c["send_p50_ms"]),
        ("send p95 (ms)", a["send_p95_ms"], None, c["send_p95_ms"]),
        ("reload, nothing stored (2nd round, ms)", a["reload_stored_nothing_ms"], None, None),
        ("reload with 2,000 stored messages (ms)", a["reload_2000_messages_ms"], None, None),
        ("reload with 200 characters (ms)", a["reload_200_characters_ms"], None, None),
    ]
    fmt = lambda v: "" if v is None else f"{v:,.1f}"  # noqa: E731
    none = a["reload_stored_nothing_ms"]
    lines = [f"Benchmark {r['date']} on {r['machine']}, Chromium {r['chromium']}", "",
             f"| {'measure':40} | {'(a) this page':>14} | {'(b) stock PyScript':>18} | {'(c) plain JS':>12} |",
             f"|{'-' * 42}|{'-' * 16}:|{'-' * 20}:|{'-' * 14}:|"]
    lines += [f"| {n:40} | {fmt(x):>14} | {fmt(y):>18} | {fmt(z):>12} |" for n, x, y, z in rows]
    lines += ["",
              f"reload a/b = {a['reload_ms'] / b['reload_ms']:.2f}x (target <= 0.30x)",
              f"first visit a/b = {a['first_visit_ms'] / b['first_visit_ms']:.2f}x (target <= 1.05x)",
              f"reload a/c = {a['reload_ms'] / c['reload_ms']:.1f}x",
              f"send p50 a - c = {a['send_p50_ms'] - c['send_p50_ms']:+.1f} ms (target <= +5 ms)",
              f"2,000 messages: {a['reload_2000_messages_ms'] - none:+.0f} ms over none (target <= +150 ms)",
              f"200 characters: {a['reload_200_characters_ms'] - none:+.0f} ms over none (target <= +50 ms)",
              f"first-visit transfer: {a['first_visit_bytes'] / 1e6:.1f} MB (target <= 7 MB)"]
    return "\n".join(lines)


def chart(browser: Browser, r: dict[str, Any]) -> None:
    """A bar chart of the start-up times, drawn as SVG and photographed by Chromium (no plotting library)."""
    bars = [(f"{name}: {kind}", r[name][key]) for name in ("this page", "stock PyScript", "plain JavaScript")
            for kind, key in (("first visit", "first_visit_ms"), ("reload", "reload_ms"))]
    top = max(v for _, v in bars) or 1
    rows = "".join(
        f'<text x="10" y="{40 + i * 34}" font-size="14">{label}</text>'
        f'<rect x="250" y="{26 + i * 34}" width="{500 * v / top:.1f}" height="20" fill="#4338ca"/>'
        f'<text x="{256 + 500 * v / top:.1f}" y="{40 + i * 34}" font-size="13">{v:,.0f} ms</text>'
        for i, (label, v) in enumerate(bars))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="860" height="{60 + 34 * len(bars)}" '
           f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>'
           f'<text x="10" y="16" font-size="13" fill="#555">Time to ready, {r["date"]}, {r["machine"]}</text>'
           f"{rows}</svg>")
    page = browser.new_page(viewport={"width": 860, "height": 60 + 34 * len(bars)})
    page.set_content(svg)
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "latest.png"))
    page.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reloads", type=int, default=7)
    parser.add_argument("--first-visits", type=int, default=7)
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args(argv)
    results = run(args)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(table(results))
    print(f"\nwrote {RESULTS / 'latest.json'} and {RESULTS / 'latest.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
