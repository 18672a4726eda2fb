"""Main-thread long tasks around start-up: what the benchmark records in the page, and how it sums them.

:data:`LONGTASK_PROBE` runs before any of a page's scripts and keeps every
``longtask`` entry (tasks of 50 ms or more, buffered from navigation start) in
``window.__longtasks``, and each value ``<html data-snapshot>`` takes, with its
time, in ``window.__snapshotStates``. :data:`COLLECT_LONGTASKS` reads them back
with the ready time (``window.__readyAt``, from the benchmark's ready probe).

The sums are pure functions over ``{"start": ms, "duration": ms}`` entries, so
they are unit-tested under CPython (tests/unit/test_bench_longtasks.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

LONG_TASK_MS = 50.0

LONGTASK_PROBE = """(() => {
  window.__longtasks = [];
  window.__snapshotStates = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longtasks.push({start: e.startTime, duration: e.duration});
    }).observe({type: 'longtask', buffered: true});
  } catch (error) { window.__longtasks = null; }  // no Long Tasks API: reported as not measured
  const root = document.documentElement;
  let last;
  const note = () => {
    const value = document.documentElement?.dataset.snapshot;
    if (value !== last) { last = value; window.__snapshotStates.push([performance.now(), value ?? null]); }
  };
  new MutationObserver(note).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-snapshot']});
})();"""

COLLECT_LONGTASKS = ("({ready: window.__readyAt ?? null, now: performance.now(), tasks: window.__longtasks,"
                     " snapshot: window.__snapshotStates || []})")

# <html data-snapshot> values while the snapshot is still being made (see SNAPSHOT_SETTLED in bench/__main__.py).
UNSETTLED_SNAPSHOT_STATES = ("fresh", "saving", "failed")


def _tasks(entries: Iterable[Mapping[str, Any]]) -> list[tuple[float, float]]:
    return [(float(e["start"]), float(e["duration"])) for e in entries]


def blocking_ms(entries: Iterable[Mapping[str, Any]], before: float) -> float:
    """Total blocking time: the sum over 50 ms of the long tasks that started before ``before`` (ms).

    A task that started before ready but ended after it counts whole: the page
    set its ready marker inside it, and input waited for all of it.

    >>> blocking_ms([{"start": 10, "duration": 120}, {"start": 200, "duration": 60}, {"start": 900, "duration": 80}],
    ...             before=500)
    80.0
    """
    return sum(max(0.0, d - LONG_TASK_MS) for s, d in _tasks(entries) if s < before)


def summarize(entries: Sequence[Mapping[str, Any]] | None, ready: float | None) -> dict[str, Any]:
    """The long tasks that started before ``ready``: their blocking time, total and longest (ms), and count.

    ``entries`` None (the browser has no Long Tasks API) gives None figures.
    """
    if entries is None or ready is None:
        return {"blocking_ms": None, "long_tasks_ms": None, "longest_ms": None, "count": None}
    before = [(s, d) for s, d in _tasks(entries) if s < ready]
    return {
        "blocking_ms": sum(max(0.0, d - LONG_TASK_MS) for _, d in before),
        "long_tasks_ms": sum(d for _, d in before),
        "longest_ms": max((d for _, d in before), default=0.0),
        "count": len(before),
    }


def snapshot_settled_at(states: Sequence[Sequence[Any]], ready: float) -> float | None:
    """When ``<html data-snapshot>`` first took a settled value after having been fresh or saving, at or
    after ``ready``; None if it never was fresh or saving (no snapshot to make) or never settled.

    >>> snapshot_settled_at([[5, "fresh"], [900, "saving"], [2400, "saved"]], ready=800)
    2400.0
    >>> snapshot_settled_at([[5, "restored"]], ready=300) is None
    True
    """
    making = False
    for time, value in states:
        if value in UNSETTLED_SNAPSHOT_STATES:
            making = True
        elif making and float(time) >= ready:
            return float(time)
    return None


def longest_between(entries: Iterable[Mapping[str, Any]], start: float, end: float) -> float:
    """The longest task that started in ``[start, end)`` (ms; 0 if none was 50 ms or more).

    >>> longest_between([{"start": 10, "duration": 300}, {"start": 600, "duration": 70}], 500, 1000)
    70.0
    """
    return max((d for s, d in _tasks(entries) if start <= s < end), default=0.0)


def median_summary(summaries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per-figure medians over several visits' :func:`summarize` results (None figures are left out).

    >>> median_summary([{"blocking_ms": 10.0, "count": 1}, {"blocking_ms": 30.0, "count": 3},
    ...                 {"blocking_ms": 20.0, "count": None}])
    {'blocking_ms': 20.0, 'count': 2.0}
    """
    keys = [key for key in summaries[0]] if summaries else []
    result: dict[str, Any] = {}
    for key in keys:
        values = sorted(float(s[key]) for s in summaries if s.get(key) is not None)
        if not values:
            result[key] = None
            continue
        middle = len(values) // 2
        result[key] = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
    return result
