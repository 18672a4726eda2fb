"""Start-up, send and streaming benchmark: this page against stock PyScript and plain JavaScript.

    python3 -m bench [--reloads 7] [--first-visits 7] [--messages 50]
    python3 -m bench --only streaming       # one part (startup, send, streaming), for trying things
    python3 -m bench --only host --only lighthouse   # issue 18's targets, on the reference host

Runs headless Chromium on localhost and prints one table; writes the figures to
bench/results/latest.json and a bar chart to bench/results/latest.png. Every
figure in one run is measured side by side on the same machine, so compare
the ratios, not the absolute times (shared machines are noisy).

Pages: (a) the chat page as served by serve.py, (b) a stock PyScript page on
the same pinned runtime that reads one localStorage key, (c) a plain
JavaScript page doing the same (and, for send latency and streamed replies,
the same request). A run with ``--only`` writes its figures to
bench/results/latest-<parts>.json instead, leaving latest.json to full runs.

The ``host`` and ``lighthouse`` parts measure issue 18's targets on the
reference host (bench/host.py): the exported site, the stock page and a
PyScript MicroPython page (bench/pages/mpy) behind one plain static server
that gzips and sends Last-Modified but no Cache-Control, and a second one
that sends ``Cache-Control: no-cache`` and no validator. The run ends with
one line per target, PASS or FAIL (bench/targets.py).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import lighthouse  # noqa: E402
from bench.host import (  # noqa: E402
    ReferenceHost,
    Transfer,
    add_baselines,
    build_site,
    serve_in_thread,
    transfer_if_precompressed,
)
from bench.long_session import describe as describe_long_session  # noqa: E402
from bench.long_session import long_session  # noqa: E402
from bench.longtasks import (  # noqa: E402
    COLLECT_LONGTASKS,
    LONGTASK_PROBE,
    longest_between,
    median_summary,
    snapshot_settled_at,
    summarize,
)
from bench.markdown import render_times  # noqa: E402
from bench.probes import OFFLINE_SETTLED, SEND_PROBE, SNAPSHOT_SETTLED  # noqa: E402
from bench.search import describe as describe_search  # noqa: E402
from bench.search import search_times  # noqa: E402
from bench.streaming import COLLECT, REPLY_SELECTOR, STREAM_PROBE, StreamRun, delta_latencies  # noqa: E402
from bench.targets import HOST_PAGES, host_table, lighthouse_table, targets, targets_table  # noqa: E402
from demo_proxy import DEFAULT_STREAM_DELAY_MS, long_reply, make_proxy_server  # noqa: E402
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
    proxy = make_proxy_server("127.0.0.1", 0, test_faults=True)  # a stream fault asks for a long reply
    api = f"http://127.0.0.1:{proxy.server_address[1]}"
    page = make_static_server("127.0.0.1", 0, api, repo=ROOT, verbose=False)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        (site / "runtime").symlink_to(ROOT / "runtime")
        add_baselines(site, ("stock", "plain", "mpy"))
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
                "MicroPython": f"{base}/mpy/",
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
    context.add_init_script(LONGTASK_PROBE)
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
        self.page.wait_for_function(OFFLINE_SETTLED, timeout=120_000)
        if seed:
            self.page.evaluate(seed)
        ready_ms(self.page)  # a warm-up reload, not counted (for every page alike)
        self.times: list[float] = []
        self.long_tasks: list[dict[str, Any]] = []  # each reload's summarize()

    def reload(self) -> None:
        self.times.append(ready_ms(self.page))
        # A page keeps working after it is ready (V8 optimises a runtime's wasm in the
        # background, the collector runs). Let that finish here, so it does not land on
        # the next profile's reload: stock PyScript leaves the most of it.
        self.page.wait_for_timeout(SETTLE_MS)
        seen = self.page.evaluate(COLLECT_LONGTASKS)  # after the pause: observers report a task after it ends
        self.long_tasks.append(summarize(seen["tasks"], seen["ready"]))
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


def queue_long_reply(api: str, words: int, delay_ms: int) -> None:
    """The demo proxy's next chat reply streams ``words`` words, ``delay_ms`` apart (a test-only fault switch)."""
    body = json.dumps({"endpoint": "chat", "kind": "stream", "words": words, "delay_ms": delay_ms}).encode()
    request = urllib.request.Request(f"{api}/__test__/fault", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


class StreamingPage:
    """One page, settled, that streams replies from the demo proxy with :data:`STREAM_PROBE` watching."""

    def __init__(self, browser: Browser, url: str, input_selector: str, api: str) -> None:
        self.api = api
        self.context = new_context(browser)
        self.context.add_init_script(STREAM_PROBE)
        self.page = self.context.new_page()
        ready_ms(self.page, url)
        self.page.wait_for_function(SNAPSHOT_SETTLED, timeout=120_000)
        self.box = self.page.locator(input_selector)
        self.sent = 0

    def stream(self, words: int, delay_ms: int) -> StreamRun:
        """Send a message whose reply streams ``words`` words; each delta's time to paint, and the frames."""
        before = int(self.page.evaluate(f"document.querySelectorAll({json.dumps(REPLY_SELECTOR)}).length"))
        queue_long_reply(self.api, words, delay_ms)
        self.page.evaluate("window.__stream.start()")
        self.sent += 1
        self.box.fill(f"tell me a long story ({self.sent})")
        self.page.wait_for_timeout(TYPING_PAUSE_MS)
        self.box.press("Enter")
        length = len("".join(long_reply(words).split()))  # as the probe counts: no white space
        self.page.wait_for_function(f"window.__stream.painted({before}, {length})",
                                    timeout=60_000 + 3 * words * delay_ms)
        self.page.wait_for_timeout(100)  # a few quiet frames after the end
        self.page.evaluate("window.__stream.stop()")
        data = self.page.evaluate(COLLECT)
        run = delta_latencies(data["marks"], data["frames"], before)
        run.frame_gaps, run.long_frames, run.long_tasks = data["gaps"], data["loaf"], data["longtasks"]
        self.page.wait_for_timeout(500)  # the conversation is stored after the reply: not in the next one
        return run

    def close(self) -> None:
        self.context.close()


STREAM_WARM_UP_WORDS = 20


def streaming(browser: Browser, urls: dict[str, str], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Streamed replies on this page and on plain JavaScript, taking turns.

    First ``--stream-rounds`` replies of ``--stream-words`` words at the demo
    proxy's pace (``--stream-delay-ms``) per page, after one uncounted short
    reply: each delta's time to paint. Then one reply of ``--long-words``
    words, ``--long-delay-ms`` apart: the longest frame while it streams (and
    its deltas' times to paint).
    """
    pages = {
        "this page": StreamingPage(browser, urls["this page"], "[data-testid=message-input]", urls["api"]),
        "plain JavaScript": StreamingPage(browser, urls["plain JavaScript"], "#input", urls["api"]),
    }
    paced = {name: StreamRun() for name in pages}
    long = {name: StreamRun() for name in pages}
    for page in pages.values():
        page.stream(STREAM_WARM_UP_WORDS, args.stream_delay_ms)
    order = list(pages)
    for round_ in range(args.stream_rounds):
        for name in order if round_ % 2 == 0 else order[::-1]:  # a, c, then c, a...
            paced[name].add(pages[name].stream(args.stream_words, args.stream_delay_ms))
    for name in order:
        long[name].add(pages[name].stream(args.long_words, args.long_delay_ms))
    for page in pages.values():
        page.close()
    return {name: {"paced": paced[name].summary(), "long": long[name].summary()} for name in pages}


def seed_conversation(messages: int) -> str:
    return f"""(() => {{
      const list = [];
      for (let i = 0; i < {messages}; i++) list.push({{role: i % 2 ? 'assistant' : 'user',
        text: 'Message ' + i + ': ' + 'a fairly ordinary sentence about the stars. '.repeat(2)}});
      localStorage.setItem('pychat:transcript:CHAR_luna', JSON.stringify(list));
    }})()"""


def seed_archive(messages: int, earlier: int, earlier_messages: int = 20) -> str:
    """The open character's conversation of ``messages`` and ``earlier`` ended ones, written to the page's archive."""
    return f"""(async () => {{
      const change = {{conversations: [], messages: [], deleteMessages: [], deleteConversations: []}};
      const text = (i) => 'Message ' + i + ': ' + 'a fairly ordinary sentence about the stars. '.repeat(2);
      const add = (id, count, started, ended) => {{
        change.conversations.push({{id, config_id: 'CHAR_luna', started, ended, session_id: null,
          title: 'Seeded ' + id, count, updated: started + count}});
        for (let i = 0; i < count; i++) change.messages.push({{id: id + '/seed-' + String(i).padStart(9, '0'),
          conversation: id, at: started + i, role: i % 2 ? 'assistant' : 'user', text: text(i)}});
      }};
      for (let c = 0; c < {earlier}; c++) add('seeded-' + c, {earlier_messages}, 1e12 + c * 1e6, 1e12 + c * 1e6 + 1e5);
      add('seeded-current', {messages}, 1.7e12, null);
      await window.pychatArchive.write(JSON.stringify(change));
      localStorage.setItem('pychat:open', 'CHAR_luna');
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


# Issue 18's 4G link: Chromium's network emulation, 10 Mbit/s down, 5 Mbit/s up, 40 ms latency.
FOUR_G = {"offline": False, "latency": 40, "downloadThroughput": 1_250_000, "uploadThroughput": 625_000,
          "connectionType": "cellular4g"}
QUIET_S = 1.5  # a settled first visit: the host has sent nothing for this long


@contextmanager
def reference_hosts(api: str, age_hours: float) -> Iterator[dict[str, ReferenceHost]]:
    """The exported site (against the demo proxy at ``api``) with the stock and mpy pages, behind the
    reference host (``gzip``) and its no-cache variant (``no-cache``), both serving one folder."""
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        build_site(site, api, age_hours * 3600)
        hosts = {mode: ReferenceHost(site, mode) for mode in ("gzip", "no-cache")}
        hosts["gzip"].warm()
        hosts["no-cache"].warm()
        for host in hosts.values():
            serve_in_thread(host)
        try:
            yield hosts
        finally:
            for host in hosts.values():
                host.shutdown()
                host.server_close()


# Each page's path on the reference host.
HOST_PATHS = {"this page": "/", "stock PyScript": "/stock/", "MicroPython": "/mpy/"}


def watched_files(site: Path) -> dict[str, list[str]]:
    """The runtime files whose downloads per first visit are reported, per page (paths on the host)."""
    pyodide = "/runtime/" + next(site.glob("runtime/pyodide-*")).name
    page_stdlib = "/runtime/" + next(site.glob("runtime/page-stdlib-*.zip")).name
    mpy = "/" + next(site.glob("micropython-*")).name
    core = [f"{pyodide}/pyodide.asm.wasm", f"{pyodide}/pyodide.asm.mjs", f"{pyodide}/pyodide.mjs"]
    return {
        # The Brotli copies a first visit fetches instead of the wasm and the standard library (both listed,
        # so that a visit that fetched a file and its copy shows it).
        "this page": [*core, f"{pyodide}/pyodide.asm.wasm.br", page_stdlib, f"{page_stdlib}.br",
                      f"{pyodide}/python_stdlib.zip", f"{pyodide}/pyodide-lock.json"],
        "stock PyScript": [*core, f"{pyodide}/python_stdlib.zip", f"{pyodide}/pyodide-lock.json"],
        "MicroPython": [f"{mpy}/micropython.mjs", f"{mpy}/micropython.wasm"],
    }


def host_visit(browser: Browser, url: str, host: ReferenceHost, *, network: dict[str, Any] | None = None,
               settle: bool = True, api: str = "") -> dict[str, Any]:
    """One first visit to ``url`` on ``host`` in a fresh profile: ready time, long tasks, what the host sent.

    With ``settle``, the visit lasts until the page has made its snapshot and installed its service
    worker and the host has then sent nothing for :data:`QUIET_S`; the transfer counts every response
    the host sent meanwhile (page, workers, service worker). ``network`` is passed to Chromium's
    ``Network.emulateNetworkConditions`` for the page. Requests to anything but the host and ``api``
    are listed in ``off_host``.
    """
    context = new_context(browser)
    off_host: list[str] = []
    context.on("request", lambda request: off_host.append(request.url)
               if not request.url.startswith((host.url, api or host.url, "data:", "blob:")) else None)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    if network:
        cdp.send("Network.emulateNetworkConditions", network)
    received: list[float] = []
    cdp.on("Network.loadingFinished", lambda event: received.append(event["encodedDataLength"]))
    mark = host.mark()
    ms = ready_ms(page, url)
    at_ready = host.mark()  # what the host had sent when the benchmark saw the page ready
    if settle:
        page.wait_for_function(SNAPSHOT_SETTLED, timeout=120_000)
        page.wait_for_function(OFFLINE_SETTLED, timeout=120_000)
        end = time.monotonic() + 30
        while time.monotonic() < end and time.monotonic() - host.last_at() < QUIET_S:
            page.wait_for_timeout(250)
    else:
        page.wait_for_timeout(300)  # the ready task's long-task entry is reported after it ends
    seen = page.evaluate(COLLECT_LONGTASKS)
    interpreter = page.evaluate("document.documentElement.dataset.interpreter || null")
    marks = page.evaluate("performance.getEntriesByType('mark').map(m => [m.name, m.startTime])")
    entries = host.since(mark)
    context.close()
    ready, tasks = float(seen["ready"]), seen["tasks"]
    made = snapshot_settled_at(seen["snapshot"], ready)
    return {
        "ready_ms": ms,
        "long_tasks": summarize(tasks, ready),
        "after_ready_longest_ms": None if tasks is None or made is None else longest_between(tasks, ready, made),
        "after_ready_longest_until_quiet_ms": None if tasks is None else longest_between(tasks, ready, seen["now"]),
        "snapshot_made_after_ready_ms": None if made is None else made - ready,
        # For finding what blocks after ready: each long task and the page's marks, from ready.
        "after_ready_tasks": [[e["start"] - ready, e["duration"]] for e in tasks or [] if e["start"] >= ready],
        "marks_from_ready": [[name, at - ready] for name, at in marks],
        "transfer": Transfer.of(entries),
        "until_ready": Transfer.of(entries[:at_ready - mark]),
        "entries": entries,
        "cdp_bytes": int(sum(received)),
        "off_host": off_host,
        "interpreter": interpreter,
    }


def _transfer_figures(visit: dict[str, Any], watched: list[str]) -> dict[str, Any]:
    transfer: Transfer = visit["transfer"]
    return {"wire_bytes": transfer.wire_bytes, "body_bytes": transfer.body_bytes, "requests": transfer.requests,
            "not_modified": transfer.not_modified, "cdp_bytes": visit["cdp_bytes"],
            "until_ready_bytes": visit["until_ready"].wire_bytes, "downloads": transfer.downloads,
            "watched": {path: transfer.downloads.get(path, 0) for path in watched}}


def host_part(browser: Browser, hosts: dict[str, ReferenceHost], api: str, args: argparse.Namespace,
              results: dict[str, Any]) -> None:
    """Issue 18's figures on the reference host for this page, stock PyScript and MicroPython."""
    gzip_host, plain_host = hosts["gzip"], hosts["no-cache"]
    paths = HOST_PATHS
    watched = watched_files(gzip_host.root)
    figures: dict[str, dict[str, Any]] = {name: {} for name in HOST_PAGES}
    # First visits on localhost, settled, taking turns (a, b, m, a, b, m...).
    visits: dict[str, list[dict[str, Any]]] = {name: [] for name in HOST_PAGES}
    for _ in range(args.host_first_visits):
        for name in HOST_PAGES:
            visits[name].append(host_visit(browser, gzip_host.url + paths[name], gzip_host, api=api))
    print("  measured first visits on the reference host", file=sys.stderr)
    for name, done in visits.items():
        first = done[0]
        if name == "MicroPython" and first["interpreter"] != "micropython":
            raise RuntimeError(f"the MicroPython page ran {first['interpreter']!r}, not MicroPython")
        made_after = [v["snapshot_made_after_ready_ms"] for v in done if v["snapshot_made_after_ready_ms"] is not None]
        longest_after = [v["after_ready_longest_ms"] for v in done if v["after_ready_longest_ms"] is not None]
        figures[name].update(
            first_visit_ms=statistics.median(v["ready_ms"] for v in done),
            first_visit_all_ms=[v["ready_ms"] for v in done],
            transfer=_transfer_figures(first, watched[name]),
            transfer_all_bytes=[v["transfer"].wire_bytes for v in done],
            longtasks_first_visit=median_summary([v["long_tasks"] for v in done]),
            longtasks_first_visit_all=[v["long_tasks"] for v in done],
            # The worst visit: the target is that background work never blocks for more than 50 ms.
            after_ready_longest_ms=max(longest_after) if longest_after else None,
            after_ready_longest_until_quiet_ms=max(v["after_ready_longest_until_quiet_ms"] or 0 for v in done),
            snapshot_made_after_ready_ms=statistics.median(made_after) if made_after else None,
            after_ready_tasks_all=[v["after_ready_tasks"] for v in done],
            marks_from_ready=first["marks_from_ready"],
            off_host_requests=sorted({url for v in done for url in v["off_host"]}),
            interpreter=first["interpreter"],
        )
    # First visits over the emulated 4G link, until ready only.
    slow: dict[str, list[float]] = {name: [] for name in HOST_PAGES}
    for _ in range(args.host_4g_visits):
        for name in HOST_PAGES:
            slow[name].append(host_visit(browser, gzip_host.url + paths[name], gzip_host, network=FOUR_G,
                                         settle=False, api=api)["ready_ms"])
    for name in HOST_PAGES:
        figures[name].update(first_visit_4g_ms=statistics.median(slow[name]), first_visit_4g_all_ms=slow[name])
    print("  measured first visits over 4G emulation", file=sys.stderr)
    # Reloads: returning visitors taking turns, as reloads() does.
    visitors = {name: Returning(browser, gzip_host.url + paths[name]) for name in HOST_PAGES}
    for _ in range(args.host_reloads):
        for visitor in visitors.values():
            visitor.reload()
    for name, visitor in visitors.items():
        figures[name].update(longtasks_reload=median_summary(visitor.long_tasks),
                             longtasks_reload_all=visitor.long_tasks, reload_all_ms=list(visitor.times),
                             reload_ms=visitor.close())
    print("  measured reloads on the reference host", file=sys.stderr)
    # The no-cache host: one settled first visit per page.
    for name in HOST_PAGES:
        visit = host_visit(browser, plain_host.url + paths[name], plain_host, api=api)
        figures[name]["no_cache_transfer"] = _transfer_figures(visit, watched[name])
    print("  measured first visits behind a no-cache host", file=sys.stderr)
    for name, done in visits.items():  # after the timed visits: Brotli 11 takes a minute the first time
        sizes = transfer_if_precompressed(done[0]["entries"], gzip_host.root)
        figures[name]["transfer"].update(if_brotli_bytes=sizes["br"], if_gzip9_bytes=sizes["gzip9"])
    results["host"] = {
        "pages": figures,
        "host": "one static server: gzip level 6 for compressible types, Last-Modified, no Cache-Control or ETag",
        "files_age_hours": args.host_age_hours,
        "first_visits": args.host_first_visits, "visits_4g": args.host_4g_visits, "reloads": args.host_reloads,
        "network_4g": FOUR_G,
    }


def lighthouse_part(hosts: dict[str, ReferenceHost], results: dict[str, Any]) -> None:
    """Lighthouse, mobile and desktop presets: every category on this page, performance on the baselines."""
    host = hosts["gzip"]
    found: dict[str, dict[str, Any]] = {}
    for name, path in HOST_PATHS.items():
        categories = lighthouse.ALL_CATEGORIES if name == "this page" else ("performance",)
        for preset in ("mobile", "desktop"):
            slug = f"{name.split()[0].lower()}-{preset}"
            try:
                summary = lighthouse.run(host.url + path, preset, categories,
                                         keep=RESULTS / "lighthouse" / f"{slug}.json")
            except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as error:
                summary = {"error": str(error)}
            found.setdefault(name, {})[preset] = summary
            print(f"  ran Lighthouse on {name} ({preset})", file=sys.stderr)
    results["lighthouse"] = found


PARTS = ("startup", "send", "streaming", "markdown", "long-session", "search", "host", "lighthouse")


def run(args: argparse.Namespace) -> dict[str, Any]:
    parts = args.only or list(PARTS)
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "parts": parts}
    pages = ("this page", "stock PyScript", "plain JavaScript")
    for name in pages:
        results[name] = {}
    with servers() as urls, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(playwright), args=CHROMIUM_ARGS)
        results["chromium"] = browser.version
        if "startup" in parts:
            startup(browser, urls, args, results)
            print("  measured start-up and long conversations", file=sys.stderr)
        if "send" in parts:
            for name, selector in (("this page", "[data-testid=message-input]"), ("plain JavaScript", "#input")):
                p50, p95 = send_latency(browser, urls[name], selector, args.messages)
                results[name].update(send_p50_ms=p50, send_p95_ms=p95)
            print("  measured send latency", file=sys.stderr)
        if "streaming" in parts:
            results["streaming"] = {
                "paced": {"words": args.stream_words, "delay_ms": args.stream_delay_ms, "replies": args.stream_rounds},
                "long": {"words": args.long_words, "delay_ms": args.long_delay_ms, "replies": 1},
            }
            for name, figures in streaming(browser, urls, args).items():
                results[name]["streaming"] = figures
            print("  measured streamed replies", file=sys.stderr)
        if "markdown" in parts:  # a 2,000-word reply's final render (bench/markdown.py)
            times = render_times(browser, urls["this page"], 2000, 9)
            results["this page"].update(markdown_final_render_ms=statistics.median(times),
                                        markdown_final_render_best_ms=min(times))
            print("  measured the Markdown render", file=sys.stderr)
        if "long-session" in parts:  # the first hundred sends of a long session against the last
            results["this page"]["long_session"] = long_session(browser, urls["this page"], args.long_session)
            print("  measured a long session", file=sys.stderr)
        if "search" in parts:  # 50,000 stored messages searched (bench/search.py)
            results["this page"]["search"] = search_times(browser, urls["this page"], 50_000)
            print("  measured search", file=sys.stderr)
        if "host" in parts or "lighthouse" in parts:
            with reference_hosts(urls["api"], args.host_age_hours) as hosts:
                if "host" in parts:
                    host_part(browser, hosts, urls["api"], args, results)
                if "lighthouse" in parts:
                    lighthouse_part(hosts, results)
        if "startup" in parts:
            chart(browser, results)
        browser.close()
    return results


def startup(browser: Browser, urls: dict[str, str], args: argparse.Namespace, results: dict[str, Any]) -> None:
    """First visits, reloads and reloads with long conversations stored."""
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
        "2,000 messages, 100 earlier": (ours, seed_archive(2000, 100)),
        "200 characters": (ours, seed_characters(200)),
    }, args.reloads)
    for name in pages:
        results[name].update(
            first_visit_ms=statistics.median(v[0] for v in visits[name]),
            first_visit_bytes=visits[name][0][1],
            reload_ms=reload_ms[name],
        )
    results["this page"].update(
        reload_stored_nothing_ms=long_ms["none"],
        reload_2000_messages_ms=long_ms["2,000 messages"],
        reload_2000_messages_100_earlier_ms=long_ms["2,000 messages, 100 earlier"],
        reload_200_characters_ms=long_ms["200 characters"],
    )


def machine() -> str:
    cpus = len(__import__("os").sched_getaffinity(0))
    return f"{platform.system()} {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}"


def table(r: dict[str, Any]) -> str:
    """The run's figures as a Markdown table and the targets below it (only the parts that ran)."""
    a, b, c = r["this page"], r["stock PyScript"], r["plain JavaScript"]

    def get(page: dict[str, Any], *keys: str, scale: float = 1.0) -> float | None:
        value: Any = page
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return None if value is None else float(value) * scale

    def count(page: dict[str, Any], *keys: str) -> int | None:
        value = get(page, *keys)
        return None if value is None else int(value)

    paced, long = r.get("streaming", {}).get("paced", {}), r.get("streaming", {}).get("long", {})
    pace = f"{paced.get('words', 0):,} words, {paced.get('delay_ms', 0)} ms apart, x{paced.get('replies', 0)}"
    long_pace = f"{long.get('words', 0):,} words, {long.get('delay_ms', 0)} ms apart"
    rows: list[tuple[str, float | None, float | None, float | None]] = [
        ("first visit, ready (ms)", get(a, "first_visit_ms"), get(b, "first_visit_ms"), get(c, "first_visit_ms")),
        ("reload, ready (median ms)", get(a, "reload_ms"), get(b, "reload_ms"), get(c, "reload_ms")),
        ("first visit, transferred (MB)", get(a, "first_visit_bytes", scale=1e-6),
         get(b, "first_visit_bytes", scale=1e-6), get(c, "first_visit_bytes", scale=1e-6)),
        ("send p50 (ms)", get(a, "send_p50_ms"), None, get(c, "send_p50_ms")),
        ("send p95 (ms)", get(a, "send_p95_ms"), None, get(c, "send_p95_ms")),
        ("reload, nothing stored (2nd round, ms)", get(a, "reload_stored_nothing_ms"), None, None),
        ("reload with 2,000 stored messages (ms)", get(a, "reload_2000_messages_ms"), None, None),
        ("reload with 2,000 messages and 100 earlier conversations (ms)",
         get(a, "reload_2000_messages_100_earlier_ms"), None, None),
        ("reload with 200 characters (ms)", get(a, "reload_200_characters_ms"), None, None),
        (f"stream, delta to paint p50 (ms; {pace})", get(a, "streaming", "paced", "paint_p50_ms"), None,
         get(c, "streaming", "paced", "paint_p50_ms")),
        ("stream, delta to paint p95 (ms)", get(a, "streaming", "paced", "paint_p95_ms"), None,
         get(c, "streaming", "paced", "paint_p95_ms")),
        ("stream, deltas measured", count(a, "streaming", "paced", "deltas"), None,
         count(c, "streaming", "paced", "deltas")),
        (f"long reply, delta to paint p50 (ms; {long_pace})", get(a, "streaming", "long", "paint_p50_ms"), None,
         get(c, "streaming", "long", "paint_p50_ms")),
        ("long reply, delta to paint p95 (ms)", get(a, "streaming", "long", "paint_p95_ms"), None,
         get(c, "streaming", "long", "paint_p95_ms")),
        ("long reply, frame work p50 (ms)", get(a, "streaming", "long", "frame_work_p50_ms"), None,
         get(c, "streaming", "long", "frame_work_p50_ms")),
        ("long reply, frame work p95 (ms)", get(a, "streaming", "long", "frame_work_p95_ms"), None,
         get(c, "streaming", "long", "frame_work_p95_ms")),
        ("long reply, frame work p50, last quarter (ms)", get(a, "streaming", "long", "frame_work_end_p50_ms"), None,
         get(c, "streaming", "long", "frame_work_end_p50_ms")),
        ("long reply, longest frame (ms, rAF gap)", get(a, "streaming", "long", "longest_frame_gap_ms"), None,
         get(c, "streaming", "long", "longest_frame_gap_ms")),
        ("long reply, frames of 50 ms or more (LoAF)", count(a, "streaming", "long", "long_animation_frames"), None,
         count(c, "streaming", "long", "long_animation_frames")),
        ("  of them with 50 ms of scripts and rendering", count(a, "streaming", "long",
                                                              "long_animation_frames_with_50ms_of_work"), None,
         count(c, "streaming", "long", "long_animation_frames_with_50ms_of_work")),
        ("Markdown, 2,000 words, final render (ms)", get(a, "markdown_final_render_ms"), None, None),
    ]
    rows = [row for row in rows if any(v is not None for v in row[1:])]

    def fmt(v: float | None) -> str:
        return "" if v is None else f"{v:,}" if isinstance(v, int) else f"{v:,.1f}"

    width = max(40, *(len(row[0]) for row in rows)) if rows else 40
    lines = [f"Benchmark {r['date']} on {r['machine']}, Chromium {r['chromium']} ({', '.join(r['parts'])})", "",
             f"| {'measure':{width}} | {'(a) this page':>14} | {'(b) stock PyScript':>18} | {'(c) plain JS':>12} |",
             f"|{'-' * (width + 2)}|{'-' * 15}:|{'-' * 19}:|{'-' * 13}:|"]
    lines += [f"| {n:{width}} | {fmt(x):>14} | {fmt(y):>18} | {fmt(z):>12} |" for n, x, y, z in rows]
    if not rows:  # only the host and Lighthouse parts ran: their own tables follow
        lines = lines[:2]
    lines.append("")
    if "reload_ms" in a:
        none = a["reload_stored_nothing_ms"]
        lines += [f"reload a/b = {a['reload_ms'] / b['reload_ms']:.2f}x (target <= 0.30x)",
                  f"first visit a/b = {a['first_visit_ms'] / b['first_visit_ms']:.2f}x (target <= 1.05x)",
                  f"reload a/c = {a['reload_ms'] / c['reload_ms']:.1f}x",
                  f"2,000 messages: {a['reload_2000_messages_ms'] - none:+.0f} ms over none (target <= +150 ms)",
                  f"2,000 messages and 100 earlier: {a['reload_2000_messages_100_earlier_ms'] - none:+.0f} ms over none"
                  " (target <= +100 ms)",
                  f"200 characters: {a['reload_200_characters_ms'] - none:+.0f} ms over none (target <= +50 ms)",
                  f"first-visit transfer: {a['first_visit_bytes'] / 1e6:.1f} MB (target <= 7 MB)"]
    if "send_p50_ms" in a:
        lines.append(f"send p50 a - c = {a['send_p50_ms'] - c['send_p50_ms']:+.1f} ms (target <= +5 ms)")
    if "streaming" in a:
        ours, plain = a["streaming"], c["streaming"]
        lines += [
            *([""] if lines[-1] else []),
            f"stream p50 a - c = {ours['paced']['paint_p50_ms'] - plain['paced']['paint_p50_ms']:+.1f} ms, "
            f"a/c = {ours['paced']['paint_p50_ms'] / plain['paced']['paint_p50_ms']:.2f}x (target <= +4 ms)",
            f"stream p95 a - c = {ours['paced']['paint_p95_ms'] - plain['paced']['paint_p95_ms']:+.1f} ms",
            f"long reply: longest frame {ours['long']['longest_frame_gap_ms']:.1f} ms "
            f"(plain JS {plain['long']['longest_frame_gap_ms']:.1f} ms), "
            f"{ours['long']['long_animation_frames']} frames of 50 ms or more, "
            f"{ours['long']['long_animation_frames_with_50ms_of_work']} with 50 ms of work (target: none over 50 ms)",
        ]
        unpainted = sum(p["streaming"][k]["unpainted_deltas"] for p in (a, c) for k in ("paced", "long"))
        if unpainted:
            lines.append(f"note: {unpainted} deltas were never seen painted (the probe missed them)")
    if a.get("markdown_final_render_ms") is not None:
        lines.append(f"Markdown final render: {a['markdown_final_render_ms']:.1f} ms, best "
                     f"{a['markdown_final_render_best_ms']:.1f} ms (target <= 30 ms)")
    if a.get("long_session") is not None:
        lines.append(describe_long_session(a["long_session"]))
    if a.get("search") is not None:
        lines.append(describe_search(a["search"]))
    if "host" in r or "lighthouse" in r:
        lines = [*lines, *([""] if lines[-1] else [])]
        if "host" in r:
            lines += [host_table(r), ""]
        if "lighthouse" in r:
            lines += [lighthouse_table(r), ""]
        lines.append(targets_table(targets(r)))
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
    parser.add_argument("--long-session", type=int, default=1000, metavar="N",
                        help="messages sent in one page for the long-session figure (default 1000)")
    parser.add_argument("--only", action="append", choices=PARTS,
                        help="run only this part (repeatable); default: all, written to latest.json")
    parser.add_argument("--stream-words", type=int, default=150, help="words per paced streamed reply")
    parser.add_argument("--stream-rounds", type=int, default=2, help="paced streamed replies per page")
    parser.add_argument("--stream-delay-ms", type=int, default=DEFAULT_STREAM_DELAY_MS,
                        help="pause between words of a paced reply (the demo proxy's)")
    parser.add_argument("--long-words", type=int, default=4000, help="words of the long streamed reply")
    parser.add_argument("--long-delay-ms", type=int, default=10, help="pause between words of the long reply")
    parser.add_argument("--host-first-visits", type=int, default=5,
                        help="first visits per page on the reference host, localhost (host part)")
    parser.add_argument("--host-4g-visits", type=int, default=3, help="first visits per page over 4G emulation")
    parser.add_argument("--host-reloads", type=int, default=7, help="reloads per page on the reference host")
    parser.add_argument("--host-age-hours", type=float, default=24.0,
                        help="how long ago the reference host's files were modified (browsers' heuristic "
                             "freshness is a tenth of it)")
    args = parser.parse_args(argv)
    if args.only:
        args.only = [part for part in PARTS if part in args.only]
    results = run(args)
    RESULTS.mkdir(exist_ok=True)
    name = "latest.json" if not args.only or args.only == list(PARTS) else f"latest-{'-'.join(args.only)}.json"
    (RESULTS / name).write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(table(results))
    wrote = [RESULTS / name] + ([RESULTS / "latest.png"] if "startup" in results["parts"] else [])
    print(f"\nwrote {' and '.join(map(str, wrote))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
