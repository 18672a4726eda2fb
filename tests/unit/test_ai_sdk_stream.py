"""The reader on the real thing: a UI message stream made at test time by the pinned `ai` package.

`bash scripts/test.sh` runs `npm ci` first, so node and node_modules/ai are
always there; a missing one fails the test rather than skipping it.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from app.api import ChatReply
from app.stream import ReplyOutcome, ReplyStream, SessionNamed, SseParser

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "fixtures" / "ai-sdk-stream.mjs"
SESSION_ID = "sess_ai_sdk_7f3a"
EXPECTED_TEXT = "Hello, wörld \u2014 ça va? \U0001f319\n\n*smiles* 日本語も話せます。\n- one\n- two"


@pytest.fixture(scope="module")
def ai_sdk_body() -> bytes:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the AI SDK stream test needs Node 20 (see README)")
    if not (ROOT / "node_modules" / "ai" / "package.json").is_file():
        pytest.fail("node_modules/ai is missing: run `npm ci --ignore-scripts` (scripts/test.sh does)")
    done = subprocess.run([node, str(SCRIPT), SESSION_ID], cwd=ROOT, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def chunks_of(body: bytes, rng: random.Random) -> list[bytes]:
    chunks, pos = [], 0
    while pos < len(body):
        size = rng.choice([1, 2, 3, rng.randint(1, 64), rng.randint(1, 512)])
        chunks.append(body[pos : pos + size])
        pos += size
    return chunks


def test_the_pinned_package_is_the_6x_line() -> None:
    manifest = json.loads((ROOT / "node_modules" / "ai" / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert manifest["version"].startswith("6.")
    assert lock["packages"]["node_modules/ai"]["version"] == manifest["version"]
    assert lock["packages"]["node_modules/ai"]["integrity"].startswith("sha512-")


def test_the_ai_sdk_stream_has_the_parts_the_reader_must_skip(ai_sdk_body: bytes) -> None:
    parser = SseParser()
    types = [json.loads(e.data)["type"] for e in parser.feed(ai_sdk_body) if e.data != "[DONE]"]
    assert {"start", "text-start", "text-delta", "text-end", "finish", "data-session"} <= set(types)
    assert {"reasoning-delta", "source-url", "tool-input-available", "start-step"} <= set(types)
    assert ai_sdk_body.startswith(b": stream-open") and ai_sdk_body.endswith(b"data: [DONE]\n\n")


@pytest.mark.parametrize("seed", range(20))
def test_the_ai_sdk_stream_in_random_chunks_reads_as_its_text_session_and_clean_finish(
    ai_sdk_body: bytes, seed: int
) -> None:
    reply = ReplyStream()
    updates = [u for chunk in chunks_of(ai_sdk_body, random.Random(seed)) for u in reply.feed(chunk)]
    reply.close()
    assert reply.text == EXPECTED_TEXT
    assert reply.session_id == SESSION_ID and SessionNamed(SESSION_ID) in updates
    assert (reply.outcome, reply.finish_reason) == (ReplyOutcome.COMPLETE, "stop")
    assert reply.result() == ChatReply(EXPECTED_TEXT, SESSION_ID)


def test_the_ai_sdk_stream_decoded_as_text_reads_the_same(ai_sdk_body: bytes) -> None:
    text = ai_sdk_body.decode("utf-8")
    reply = ReplyStream()
    for pos in range(0, len(text), 7):
        reply.feed(text[pos : pos + 7])
    reply.close()
    assert (reply.text, reply.outcome) == (EXPECTED_TEXT, ReplyOutcome.COMPLETE)


def test_the_ai_sdk_stream_cut_before_its_finish_is_cut_off(ai_sdk_body: bytes) -> None:
    cut = ai_sdk_body.index(b'data: {"type":"finish"')
    reply = ReplyStream()
    reply.feed(ai_sdk_body[:cut])
    reply.close()
    assert (reply.outcome, reply.text) == (ReplyOutcome.CUT_OFF, EXPECTED_TEXT)


# --- The same reader on the page's own interpreter ---------------------------------------------------------------

ON_PYODIDE = """
import json, random, sys, time
from app.errors import StreamTooLarge
from app.stream import ReplyStream, parse_part

body = BODY
rng = random.Random(1)
reply = ReplyStream()
pos = 0
while pos < len(body):
    size = rng.randint(1, 40)
    reply.feed(body[pos : pos + size])
    pos += size
reply.close()

deep = {}
for name, data in {"arrays": "[" * 1_000_000, "objects": '{"a":' * 200_000}.items():
    start = time.perf_counter()
    try:
        parse_part(data)
        deep[name] = "parsed"
    except StreamTooLarge:
        deep[name] = "StreamTooLarge"
    deep[name + "_ms"] = (time.perf_counter() - start) * 1000

json.dumps({"version": list(sys.version_info[:2]), "text": reply.text, "session_id": reply.session_id,
            "outcome": reply.outcome.value, "deep": deep})
"""


@pytest.fixture(scope="module")
def on_pyodide(ai_sdk_body: bytes) -> dict[str, object]:
    node = shutil.which("node")
    assert node is not None
    code = ON_PYODIDE.replace("BODY", repr(ai_sdk_body))
    script = ROOT / "tests" / "fixtures" / "run-in-pyodide.mjs"
    done = subprocess.run([node, str(script)], input=code.encode(), cwd=ROOT, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_on_pyodide_the_ai_sdk_stream_reads_the_same(on_pyodide: dict[str, object]) -> None:
    assert on_pyodide["version"] == [3, 14]
    assert (on_pyodide["text"], on_pyodide["session_id"]) == (EXPECTED_TEXT, SESSION_ID)
    assert on_pyodide["outcome"] == "complete"


def test_on_pyodide_deep_nesting_is_refused_without_killing_the_interpreter(on_pyodide: dict[str, object]) -> None:
    # json.loads itself would exhaust the JavaScript stack here and end Pyodide with a fatal error.
    deep = on_pyodide["deep"]
    assert isinstance(deep, dict)
    assert (deep["arrays"], deep["objects"]) == ("StreamTooLarge", "StreamTooLarge")
