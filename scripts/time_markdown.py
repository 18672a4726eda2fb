"""How long app/markdown.py takes on a 2,000-word reply (prints only; not a test).

    python3 scripts/time_markdown.py [--words 2000] [--repeat 20]

Prints the import of markdown-it, the parser's set-up, the final render as a
tree, as JSON, and built into the fake DOM, with the number of DOM calls the
Python builder makes (each crosses into JavaScript in the browser), and the
cost of one streaming frame near the end of the reply. The issue's budget is
30 ms for the final render in the browser.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ("the quick brown fox jumps over a lazy dog while Luna smiles and tells a story about "
         "stars rivers code tables lists and quiet mornings").split()


def sample_reply(words: int) -> str:
    """A reply shaped like a model's: headings, paragraphs with emphasis, lists, code, a table, links."""
    blocks: list[str] = []
    n = 0
    while sum(len(block.split()) for block in blocks) < words:
        n += 1
        text = " ".join(WORDS[(n * 7 + i) % len(WORDS)] for i in range(60))
        text = text.replace(" fox ", " *fox* ", 1).replace(" story ", " **story** ", 1).replace(" code ", " `code` ", 1)
        kind = n % 8
        if kind == 0:
            blocks.append(f"## Part {n}")
        elif kind == 3:
            blocks.append("\n".join(f"- item {i}: {text[:60]}" for i in range(5)))
        elif kind == 5:
            blocks.append("```python\n" + "\n".join(f"def f{i}(x):\n    return x * {i}  # {text[:30]}"
                                                    for i in range(4)) + "\n```")
        elif kind == 6:
            rows = "\n".join(f"| {w} | {i} |" for i, w in enumerate(WORDS[:6]))
            blocks.append(f"| name | value |\n|:--|--:|\n{rows}")
        else:
            blocks.append(f"*smiles* {text} See [the notes](https://example.com/{n}).")
    return "\n\n".join(blocks)


def best_ms(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    start = time.perf_counter()
    import markdown_it  # noqa: F401

    import_ms = (time.perf_counter() - start) * 1000
    from app import markdown
    from tests.unit.fake_dom import FakeDocument

    start = time.perf_counter()
    markdown.warm_up()
    setup_ms = (time.perf_counter() - start) * 1000

    reply = sample_reply(args.words)
    tree = markdown.markdown_tree(reply)
    document = FakeDocument()
    markdown.build_nodes(document, document.root(), tree)
    calls = sum(document.calls.values())

    def build() -> None:
        d = FakeDocument()
        markdown.build_nodes(d, d.root(), tree)

    frame_text = reply[: len(reply) * 19 // 20]

    def live_frame() -> None:  # the frame after one at 95% of the reply: only the open block is parsed again
        live = markdown.LiveMarkdown()
        live.update(frame_text)
        started = time.perf_counter()
        live.update(frame_text + " more")
        frame_times.append((time.perf_counter() - started) * 1000)

    frame_times: list[float] = []
    figures = {
        "markdown_tree (final render)": best_ms(lambda: markdown.markdown_tree(reply), args.repeat),
        "markdown_json": best_ms(lambda: markdown.markdown_json(reply), args.repeat),
        "build_nodes into the fake DOM": best_ms(build, args.repeat),
    }
    for _ in range(args.repeat):
        live_frame()
    figures["LiveMarkdown, a frame at 95%"] = (min(frame_times), statistics.median(frame_times))
    print(f"Python {sys.version.split()[0]}; reply: {len(reply.split())} words, {len(reply)} characters, "
          f"{len(tree)} top-level blocks")
    print(f"import markdown_it: {import_ms:.1f} ms (modules already imported by this script excluded)")
    print(f"parser set-up (warm_up): {setup_ms:.1f} ms")
    for name, (best, median) in figures.items():
        print(f"{name}: best {best:.2f} ms, median {median:.2f} ms")
    print(f"DOM calls by the Python builder: {calls} ({dict(document.calls)}); "
          f"at ~25 us each in the browser: ~{calls * 0.025:.0f} ms")


if __name__ == "__main__":
    main()
