"""Streamed replies in the benchmark: from a delta's arrival at the page to its text painted, and long frames.

Both pages under test read the reply with fetch and, when the benchmark sets
``globalThis.__chatStreamMarks``, mark each piece of decoded text as it comes
out of the stream reader (``performance.mark("chat:stream-chunk", {detail})``,
in ``app/browser.py`` and ``bench/pages/plain/app.js``) before doing anything
else with it. :data:`STREAM_PROBE` then watches every frame while the reply
streams:

- a ``requestAnimationFrame`` loop toggles the width of a 1 px probe element,
  so that every frame runs a ``ResizeObserver`` callback. Those callbacks run
  in the frame's rendering steps after all animation frame callbacks (where the
  chat page redraws its reply) and after style and layout: the text the
  callback sees is the text this frame paints. It records the reply element's
  length then;
- from that callback it posts a ``MessageChannel`` message, which runs as the
  first task after the frame's rendering (paint included): its time is taken
  as the delta's paint time.

:func:`delta_latencies` pairs the two afterwards: each ``text-delta`` in the
marked pieces has an arrival time (its piece's mark) and a length the reply
reaches with it; it is painted by the first frame whose reply is at least
that long. Long frames are the gaps between animation frames, plus any
``long-animation-frame`` and ``longtask`` entries (50 ms and more; a long
animation frame whose scripts and rendering add up to less than 50 ms waited
for the CPU, which a busy machine does to any page). A frame's
work is the time from its first animation frame callback (the probe's, which
was asked for first) to the task after its paint: the page's redraw, style,
layout and paint.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from typing import Any

CHUNK_MARK = "chat:stream-chunk"
REPLY_SELECTOR = "[data-role=assistant]"

STREAM_PROBE = """(() => {
  globalThis.__chatStreamMarks = true;
  const sel = SELECTOR;
  const s = window.__stream = {on: false, frames: [], gaps: [], loaf: [], longtasks: []};
  let box = null, flip = false, lastTick = 0, seen = null;
  const channel = new MessageChannel();
  channel.port2.onmessage = () => {
    if (seen) s.frames.push([performance.now(), ...seen]);
    seen = null;
  };
  const resized = new ResizeObserver(() => {
    if (!s.on) return;
    const replies = document.querySelectorAll(sel);
    const last = replies[replies.length - 1];
    // Characters other than white space: a formatted reply drops a paragraph's trailing space.
    seen = [performance.now(), replies.length, last ? last.textContent.replace(/\\s+/g, "").length : 0, s.tickAt];
    channel.port1.postMessage(0);
  });
  const tick = (now) => {
    if (!s.on) return;
    if (lastTick) s.gaps.push(now - lastTick);
    lastTick = now;
    s.tickAt = performance.now();
    flip = !flip;
    box.style.width = flip ? '2px' : '1px';
    requestAnimationFrame(tick);
  };
  s.start = () => {
    if (!box) {
      box = document.createElement('div');
      box.setAttribute('aria-hidden', 'true');
      Object.assign(box.style, {position: 'fixed', left: '0', top: '0', width: '1px', height: '1px',
                                opacity: '0', pointerEvents: 'none'});
      document.body.append(box);
      resized.observe(box);
    }
    Object.assign(s, {frames: [], gaps: [], loaf: [], longtasks: []});
    lastTick = 0;
    performance.clearMarks(MARK);
    s.on = true;
    requestAnimationFrame(tick);
  };
  s.stop = () => { s.on = false; };
  s.painted = (before, length) => {
    const f = s.frames[s.frames.length - 1];
    return !!f && f[2] > before && f[3] >= length;
  };
  // A long frame's share of rendering and its three longest scripts: what made it long.
  // Its work: scripts plus rendering. A frame much longer than its work waited for the CPU.
  const explain = (e) => {
    if (e.entryType !== 'long-animation-frame') return null;
    const render = e.renderStart ? e.startTime + e.duration - e.renderStart : 0;
    const before = e.scripts.filter((x) => !e.renderStart || x.startTime < e.renderStart);  // rAF ones are in render
    return {
      render_ms: render,
      work_ms: render + before.reduce((sum, x) => sum + x.duration, 0),
      scripts: [...e.scripts].sort((x, y) => y.duration - x.duration).slice(0, 3)
        .map((x) => [x.invoker || x.name, x.duration, x.sourceFunctionName || '', x.forcedStyleAndLayoutDuration]),
    };
  };
  for (const [type, into] of [['long-animation-frame', 'loaf'], ['longtask', 'longtasks']]) {
    try {
      new PerformanceObserver((list) => {
        if (s.on) for (const e of list.getEntries()) s[into].push([e.duration, explain(e)]);
      }).observe({type});
    } catch (e) { /* not supported: that list stays empty */ }
  }
})();""".replace("SELECTOR", json.dumps(REPLY_SELECTOR)).replace("MARK", json.dumps(CHUNK_MARK))

COLLECT = f"""({{
  marks: performance.getEntriesByName({json.dumps(CHUNK_MARK)}).map((m) => [m.startTime, m.detail]),
  frames: window.__stream.frames, gaps: window.__stream.gaps,
  loaf: window.__stream.loaf, longtasks: window.__stream.longtasks,
}})"""


@dataclass
class StreamRun:
    """What one streamed reply measured: each delta's time to paint, and the frames meanwhile (ms)."""

    latencies: list[float] = field(default_factory=list)
    unpainted: int = 0  # deltas no recorded frame showed (should stay 0)
    frame_work: list[float] = field(default_factory=list)  # each frame, from its rAF callbacks to after paint
    frame_work_end: list[float] = field(default_factory=list)  # the frames showing the last quarter of the text
    frame_gaps: list[float] = field(default_factory=list)
    long_frames: list[list[Any]] = field(default_factory=list)  # long-animation-frame [duration, what]
    long_tasks: list[list[Any]] = field(default_factory=list)  # longtask [duration, None]

    def add(self, other: StreamRun) -> None:
        self.latencies += other.latencies
        self.unpainted += other.unpainted
        self.frame_work += other.frame_work
        self.frame_work_end += other.frame_work_end
        self.frame_gaps += other.frame_gaps
        self.long_frames += other.long_frames
        self.long_tasks += other.long_tasks

    def summary(self) -> dict[str, Any]:
        ordered, work = sorted(self.latencies), sorted(self.frame_work)
        worst = max(self.long_frames, key=lambda entry: entry[0], default=None)
        return {
            "deltas": len(ordered),
            "unpainted_deltas": self.unpainted,
            "paint_p50_ms": statistics.median(ordered) if ordered else None,
            "paint_p95_ms": percentile(ordered, 0.95),
            "paint_max_ms": ordered[-1] if ordered else None,
            "frame_work_p50_ms": statistics.median(work) if work else None,
            "frame_work_p95_ms": percentile(work, 0.95),
            "frame_work_max_ms": work[-1] if work else None,
            "frame_work_end_p50_ms": statistics.median(self.frame_work_end) if self.frame_work_end else None,
            "longest_frame_gap_ms": max(self.frame_gaps, default=None),
            "frames": len(self.frame_gaps) + 1 if self.frame_gaps else 0,
            "long_animation_frames": len(self.long_frames),
            "long_animation_frames_with_50ms_of_work": sum(1 for _, what in self.long_frames
                                                           if what and what["work_ms"] >= 50),
            "longest_animation_frame_ms": worst[0] if worst else None,
            "longest_animation_frame": worst[1] if worst else None,
            "longest_task_ms": max((entry[0] for entry in self.long_tasks), default=None),
        }


def percentile(ordered: list[float], q: float) -> float | None:
    """The ``q`` quantile of sorted ``ordered``, nearest rank (as the send latency's p95).

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([], 0.9)
    (2.0, None)
    """
    if not ordered:
        return None
    return ordered[max(0, min(len(ordered), round(len(ordered) * q)) - 1)]


def text_deltas(marks: list[tuple[float, str]]) -> list[tuple[float, int]]:
    """Each ``text-delta`` in the marked pieces: (its piece's arrival, the reply's length once it is added).

    The demo proxy writes LF-only events of one ``data:`` line; lengths are in
    UTF-16 code units, as the DOM counts them, and count no white space (the
    probe's neither): a reply formatted as Markdown shows a paragraph without
    its trailing space, which would otherwise count that word as painted only
    with the next.

    >>> text_deltas([(1.0, 'data: {"type":"start"}\\n\\ndata: {"type":"text-delta","id":"t","delta":"Hi "}\\n'),
    ...              (2.5, '\\ndata: {"type":"text-delta","id":"t","delta":"there"}\\n\\ndata: [DONE]\\n\\n')])
    [(2.5, 2), (2.5, 7)]
    """
    rest, length, found = "", 0, []
    for arrived, piece in marks:
        events = (rest + piece).split("\n\n")
        rest = events.pop()
        for event in events:
            if not event.startswith("data: ") or event == "data: [DONE]":
                continue
            part = json.loads(event[6:])
            if part.get("type") == "text-delta":
                length += len("".join(part["delta"].split()).encode("utf-16-le")) // 2
                found.append((arrived, length))
    return found


def delta_latencies(marks: list[tuple[float, str]], frames: list[list[float]], replies_before: int) -> StreamRun:
    """Pair each delta's arrival with the first frame that painted it (see the module's docstring).

    ``frames`` are ``[after paint, after layout, reply elements, last reply's
    length, the frame's first animation frame callback]``; only frames showing
    more than ``replies_before`` reply elements show this reply.

    >>> run = delta_latencies([(10.0, 'data: {"type":"text-delta","id":"t","delta":"ab"}\\n\\n')],
    ...                       [[9.0, 8.5, 1, 5, 8.0], [14.0, 13.0, 2, 1, 12.0], [30.0, 29.0, 2, 2, 28.0]], 1)
    >>> run.latencies, run.unpainted, run.frame_work, run.frame_work_end
    ([20.0], 0, [1.0, 2.0, 2.0], [2.0])
    """
    run = StreamRun(frame_work=[f[0] - f[4] for f in frames if f[4] is not None])
    final = max((f[3] for f in frames if f[2] > replies_before), default=0)
    run.frame_work_end = [f[0] - f[4] for f in frames if f[4] is not None and f[2] > replies_before
                          and f[3] > 0.75 * final]
    shown = [(f[0], f[3]) for f in frames if f[2] > replies_before]
    j = 0
    for arrived, length in text_deltas(marks):
        while j < len(shown) and (shown[j][1] < length or shown[j][0] < arrived):
            j += 1
        if j == len(shown):
            run.unpainted += 1
        else:
            run.latencies.append(shown[j][0] - arrived)
    return run
