"""Lighthouse (npm ``lighthouse``, pinned in package.json) against pages on the benchmark's reference host.

Runs ``node_modules/.bin/lighthouse`` with the system Chromium, once per page
and preset (``mobile``, Lighthouse's default, or ``desktop``), and keeps a
summary: the category scores (0-100), TBT, LCP and FCP, and the audits that
failed in each category other than performance. :func:`summarize` is pure
(tests/unit/test_bench_lighthouse.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu"
ALL_CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
METRICS = {"tbt_ms": "total-blocking-time", "lcp_ms": "largest-contentful-paint", "fcp_ms": "first-contentful-paint",
           "si_ms": "speed-index", "cls": "cumulative-layout-shift"}
# Audits that carry no pass/fail.
UNSCORED = ("notApplicable", "manual", "informative", "error")


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    """Scores (0-100), metrics, and per category other than performance the failed audits ``[id, title]``.

    A failed audit is a scored one (binary or numeric) below 1. For performance,
    ``flags`` lists the opportunities and diagnostics scored below 0.9 instead.
    """
    audits: dict[str, Any] = report.get("audits", {})
    categories: dict[str, Any] = report.get("categories", {})
    result: dict[str, Any] = {
        "scores": {name: None if c.get("score") is None else round(100 * c["score"])
                   for name, c in categories.items()},
        "metrics": {key: audits.get(audit, {}).get("numericValue") for key, audit in METRICS.items()},
        "failing": {},
        "runtime_error": (report.get("runtimeError") or {}).get("message"),
        "warnings": report.get("runWarnings", []),
        # Lighthouse's own CPU yardstick: it expects about 1,000 or more; a busy machine scores lower.
        "benchmark_index": (report.get("environment") or {}).get("benchmarkIndex"),
        "errored_audits": sorted(name for name, audit in audits.items() if audit.get("scoreDisplayMode") == "error"),
    }
    for name, category in categories.items():
        failed = []
        for ref in category.get("auditRefs", []):
            audit = audits.get(ref["id"], {})
            if audit.get("scoreDisplayMode") in UNSCORED or audit.get("score") is None:
                continue
            if name == "performance":
                if ref.get("group") == "metrics" or audit["score"] >= 0.9:
                    continue
            elif audit["score"] >= 1:
                continue
            failed.append([ref["id"], audit.get("title", ref["id"])])
        result["failing"][name] = failed
    return result


def run(url: str, preset: str, categories: tuple[str, ...] = ALL_CATEGORIES, chrome: str = "/usr/bin/chromium",
        keep: Path | None = None) -> dict[str, Any]:
    """Lighthouse on ``url`` with ``preset`` ("mobile" or "desktop"); :func:`summarize`'s result.

    ``keep``, if given, receives the whole JSON report.
    """
    if not LIGHTHOUSE.exists():
        raise RuntimeError("node_modules/.bin/lighthouse is missing: run `npm ci` (it is a dev dependency)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        command = [str(LIGHTHOUSE), url, "--output=json", f"--output-path={out}", "--quiet",
                   f"--chrome-flags={CHROME_FLAGS}", f"--only-categories={','.join(categories)}"]
        if preset == "desktop":
            command.append("--preset=desktop")
        elif preset != "mobile":
            raise ValueError(f"unknown preset {preset!r}")
        done = subprocess.run(command, env={**os.environ, "CHROME_PATH": chrome}, capture_output=True, text=True,
                              timeout=600, check=False)
        if not out.exists():
            raise RuntimeError(f"lighthouse exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
        report = json.loads(out.read_text(encoding="utf-8"))
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            keep.write_text(json.dumps(report), encoding="utf-8")
    summary = summarize(report)
    summary["lighthouse"] = report.get("lighthouseVersion")
    return summary
