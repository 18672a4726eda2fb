"""Issue 18's targets, each checked against one run's figures, and the tables the host and Lighthouse parts print.

Pure: takes the results dictionary ``python3 -m bench`` writes (its ``host``
and ``lighthouse`` parts) and returns text (tests/unit/test_bench_targets.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OURS, STOCK, MPY = "this page", "stock PyScript", "MicroPython"
HOST_PAGES = (OURS, STOCK, MPY)


@dataclass(frozen=True)
class Target:
    """One target: ``measured`` compared with ``limit`` by ``op`` ("<=" or ">="); ``unit`` formats both."""

    name: str
    measured: float | None
    limit: float
    op: str = "<="
    unit: str = "x"
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return "n/a"
        met = self.measured <= self.limit if self.op == "<=" else self.measured >= self.limit
        return "PASS" if met else "FAIL"

    def show(self, value: float | None) -> str:
        if value is None:
            return "not measured"
        if self.unit == "x":
            return f"{value:.2f}x"
        if self.unit == "MB":
            return f"{value / 1e6:.2f} MB"
        if self.unit == "ms":
            return f"{value:.0f} ms"
        if self.unit == "times":
            return f"{value:.0f}x"
        return f"{value:.0f}"


def _get(tree: Mapping[str, Any] | None, *keys: str) -> Any:
    value: Any = tree
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _ratio(a: Any, b: Any) -> float | None:
    return float(a) / float(b) if isinstance(a, int | float) and isinstance(b, int | float) and b else None


def max_runtime_downloads(downloads: Mapping[str, int] | None) -> tuple[int | None, list[str]]:
    """The most times any file under ``/runtime/`` was downloaded, and the files downloaded more than once.

    >>> max_runtime_downloads({"/runtime/a.wasm": 2, "/runtime/b.mjs": 1, "/index.html": 3})
    (2, ['/runtime/a.wasm'])
    """
    if downloads is None:
        return None, []
    counts = {path: n for path, n in downloads.items() if path.startswith("/runtime/")}
    return max(counts.values(), default=0), sorted(path for path, n in counts.items() if n > 1)


def targets(results: Mapping[str, Any]) -> list[Target]:
    """Issue 18's targets with this run's figures (None where the part did not run)."""
    host = _get(results, "host", "pages") or {}
    a, b, m = (host.get(name) or {} for name in HOST_PAGES)
    lighthouse = results.get("lighthouse") or {}

    def score(preset: str, category: str) -> float | None:
        value = _get(lighthouse, OURS, preset, "scores", category)
        return None if value is None else float(value)

    def lowest(category: str) -> float | None:
        found = [s for s in (score("mobile", category), score("desktop", category)) if s is not None]
        return min(found) if found else None

    gzip_most, gzip_again = max_runtime_downloads(_get(a, "transfer", "downloads"))
    plain_most, plain_again = max_runtime_downloads(_get(a, "no_cache_transfer", "downloads"))
    return [
        Target("reload, this page / stock PyScript", _ratio(a.get("reload_ms"), b.get("reload_ms")), 0.20),
        Target("reload, this page / MicroPython", _ratio(a.get("reload_ms"), m.get("reload_ms")), 2.5),
        Target("first visit (localhost), this page / stock",
               _ratio(a.get("first_visit_ms"), b.get("first_visit_ms")), 0.50),
        Target("first visit (4G: 10 Mbit/s, 40 ms), this page / stock",
               _ratio(a.get("first_visit_4g_ms"), b.get("first_visit_4g_ms")), 0.55),
        Target("first-visit transfer, gzip host", _get(a, "transfer", "wire_bytes"), 4.5e6, unit="MB"),
        Target("runtime file downloads per first visit, gzip host (most)", gzip_most, 1, unit="times",
               note=", ".join(gzip_again)),
        Target("runtime file downloads per first visit, no-cache host (most)", plain_most, 1, unit="times",
               note=", ".join(plain_again)),
        Target("long tasks over 50 ms before ready, first visit, this page / stock",
               _ratio(_get(a, "longtasks_first_visit", "blocking_ms"), _get(b, "longtasks_first_visit",
                                                                            "blocking_ms")), 0.40),
        Target("long tasks over 50 ms before ready, reload", _get(a, "longtasks_reload", "blocking_ms"), 60,
               unit="ms"),
        Target("longest main-thread task after ready (first visit, snapshot made)",
               _get(a, "after_ready_longest_ms"), 50, unit="ms"),
        Target("Lighthouse performance, mobile", score("mobile", "performance"), 90, ">=", unit=""),
        Target("Lighthouse performance, desktop", score("desktop", "performance"), 95, ">=", unit=""),
        Target("Lighthouse accessibility (lower of the presets)", lowest("accessibility"), 100, ">=", unit=""),
        Target("Lighthouse best practices (lower of the presets)", lowest("best-practices"), 95, ">=", unit=""),
        Target("Lighthouse SEO (lower of the presets)", lowest("seo"), 95, ">=", unit=""),
    ]


def targets_table(rows: list[Target]) -> str:
    """One line per target: the figure, the target and PASS, FAIL or n/a (the part did not run)."""
    width = max(len(row.name) for row in rows)
    lines = [f"| {'issue 18 target':{width}} | {'measured':>12} | {'target':>10} | result |",
             f"|{'-' * (width + 2)}|{'-' * 13}:|{'-' * 11}:|--------|"]
    for row in rows:
        limit = f"{row.op} {row.show(row.limit)}"
        line = f"| {row.name:{width}} | {row.show(row.measured):>12} | {limit:>10} | {row.verdict:6} |"
        lines.append(line + (f" again: {row.note}" if row.note else ""))
    return "\n".join(lines)


def _fmt(value: Any, scale: float = 1.0, digits: int = 0) -> str:
    if not isinstance(value, int | float):
        return ""
    return f"{value * scale:,.{digits}f}"


def host_table(results: Mapping[str, Any]) -> str:
    """The host part's figures for the three pages, one row per measure."""
    host = _get(results, "host", "pages") or {}
    pages = [host.get(name) or {} for name in HOST_PAGES]
    rows: list[tuple[str, tuple[str, ...], float, int]] = [
        ("first visit, localhost (median ms)", ("first_visit_ms",), 1, 0),
        ("first visit, 4G emulation (median ms)", ("first_visit_4g_ms",), 1, 0),
        ("reload (median ms)", ("reload_ms",), 1, 0),
        ("first-visit transfer, gzip host (MB, all requests)", ("transfer", "wire_bytes"), 1e-6, 2),
        ("  as Brotli 11, precompressed (MB)", ("transfer", "if_brotli_bytes"), 1e-6, 2),
        ("  as gzip -9, precompressed (MB)", ("transfer", "if_gzip9_bytes"), 1e-6, 2),
        ("  requests (304s)", ("transfer", "requests"), 1, 0),
        ("  page only, CDP encodedDataLength (MB)", ("transfer", "cdp_bytes"), 1e-6, 2),
        ("  of it until ready (MB)", ("transfer", "until_ready_bytes"), 1e-6, 2),
        ("first-visit transfer, no-cache host (MB)", ("no_cache_transfer", "wire_bytes"), 1e-6, 2),
        ("first visit: long tasks, sum over 50 ms (ms)", ("longtasks_first_visit", "blocking_ms"), 1, 0),
        ("first visit: long tasks, total (ms)", ("longtasks_first_visit", "long_tasks_ms"), 1, 0),
        ("first visit: longest task (ms)", ("longtasks_first_visit", "longest_ms"), 1, 0),
        ("reload: long tasks, sum over 50 ms (ms)", ("longtasks_reload", "blocking_ms"), 1, 0),
        ("reload: long tasks, total (ms)", ("longtasks_reload", "long_tasks_ms"), 1, 0),
        ("reload: longest task (ms)", ("longtasks_reload", "longest_ms"), 1, 0),
        ("after ready, until the snapshot is made: longest task (ms)", ("after_ready_longest_ms",), 1, 0),
        ("after ready, until quiet: longest task (ms)", ("after_ready_longest_until_quiet_ms",), 1, 0),
        ("ready to snapshot made (ms)", ("snapshot_made_after_ready_ms",), 1, 0),
    ]
    width = max(len(name) for name, *_ in rows)
    lines = [f"| {'reference host':{width}} | {'(a) this page':>13} | {'(b) stock':>9} | {'(m) MicroPython':>15} |",
             f"|{'-' * (width + 2)}|{'-' * 14}:|{'-' * 10}:|{'-' * 16}:|"]
    for name, keys, scale, digits in rows:
        cells = [_fmt(_get(page, *keys), scale, digits) for page in pages]
        if name.startswith("  requests"):
            cells = [f"{c} ({_fmt(_get(p, 'transfer', 'not_modified'))})" if c else c for c, p in zip(cells, pages,
                                                                                                      strict=True)]
        if any(cells):
            lines.append(f"| {name:{width}} | {cells[0]:>13} | {cells[1]:>9} | {cells[2]:>15} |")
    lines.append("")
    worst = max(_get(host.get(OURS), "after_ready_tasks_all") or [[]], key=lambda tasks: max(
        (d for _, d in tasks), default=0))
    if worst:
        lines += ["this page, long tasks after ready (worst first visit; start from ready, duration): "
                  + ", ".join(f"+{start:,.0f} ms: {duration:.0f} ms" for start, duration in worst), ""]
    for label, key in (("gzip host", "transfer"), ("no-cache host", "no_cache_transfer")):
        for name, page in zip(HOST_PAGES, pages, strict=True):
            counts = _get(page, key, "watched")
            if counts:
                lines.append(f"{label}, {name}: downloads per first visit: "
                             + ", ".join(f"{file} {n}x" for file, n in counts.items()))
    return "\n".join(lines)


def lighthouse_table(results: Mapping[str, Any]) -> str:
    """Scores and metrics per page and preset, then the failed audits of this page."""
    lighthouse = results.get("lighthouse") or {}
    lines = ["| Lighthouse (page, preset) | perf | a11y | best pr. | SEO | TBT ms | LCP ms | FCP ms |",
             "|---------------------------|-----:|-----:|---------:|----:|-------:|-------:|-------:|"]
    notes: list[str] = []
    for name in HOST_PAGES:
        for preset in ("mobile", "desktop"):
            run = _get(lighthouse, name, preset)
            if not run:
                continue
            if run.get("error"):
                notes.append(f"{name}, {preset}: {run['error']}")
                continue
            s, m = run["scores"], run["metrics"]
            lines.append(f"| {name + ', ' + preset:25} | {_fmt(s.get('performance')):>4} | "
                         f"{_fmt(s.get('accessibility')):>4} | {_fmt(s.get('best-practices')):>8} | "
                         f"{_fmt(s.get('seo')):>3} | {_fmt(m.get('tbt_ms')):>6} | {_fmt(m.get('lcp_ms')):>6} | "
                         f"{_fmt(m.get('fcp_ms')):>6} |")
            if run.get("runtime_error"):
                notes.append(f"{name}, {preset}: runtime error: {run['runtime_error']}")
            if run.get("benchmark_index") is not None:
                errored = run.get("errored_audits") or []
                notes.append(f"{name}, {preset}: Lighthouse's CPU benchmark index {run['benchmark_index']:.0f}"
                             + (f"; audits that could not run: {', '.join(errored)}" if errored else ""))
            if name == OURS:
                for category, failed in run.get("failing", {}).items():
                    if failed:
                        what = "flags (score < 0.9)" if category == "performance" else "fails"
                        notes.append(f"{name}, {preset}, {category} {what}: "
                                     + "; ".join(f"{audit} ({title})" for audit, title in failed))
    return "\n".join(lines + [""] + notes) if len(lines) > 2 or notes else ""
