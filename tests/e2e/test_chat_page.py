"""The chat page as a person uses it: sending, keys, persistence, characters, safety, loading."""

from __future__ import annotations

import _imp
import re
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

from playwright.sync_api import BrowserContext, Page, Route, expect

from serving.builds import BYTECODE_SCRIPT, STDLIB_MODULES, idle_modules, startup_modules
from serving.runtime import PYODIDE_HOME, PYODIDE_PACKAGE, pinned_versions, runtime_dirs

from .conftest import READY, ROOT, Server, open_app
from .helpers import (
    ATLAS,
    ECHO,
    LUNA,
    READ_CONVERSATION,
    foreign_images,
    messages,
    open_character,
    send,
    send_and_wait,
    serve_main_with,
    serve_pyodides_own_stdlib,
    stored,
)


def test_enter_sends_and_the_reply_is_shown(page: Page, server: Server) -> None:
    open_app(page, server)
    reply = send_and_wait(page, "Hello Luna")
    expect(messages(page)).to_have_text(["Hello Luna", reply])
    assert reply.startswith("Luna (message 1 in this session)")
    expect(page.get_by_test_id("message-input")).to_have_value("")
    session_id = stored(page, f"session_{LUNA}")
    assert server.requests("/api/chat")[0]["body"] == {"session_id": session_id, "config_id": LUNA,
                                                       "input": "Hello Luna"}


def test_send_button_sends(page: Page, server: Server) -> None:
    open_app(page, server)
    page.get_by_test_id("message-input").fill("by button")
    page.get_by_test_id("send-button").click()
    expect(messages(page, "assistant")).to_have_count(1)


def test_shift_enter_inserts_a_newline_instead_of_sending(page: Page, server: Server) -> None:
    open_app(page, server, f"?character={ECHO}")
    box = page.get_by_test_id("message-input")
    box.type("line one")
    box.press("Shift+Enter")
    box.type("line two")
    expect(box).to_have_value("line one\nline two")
    assert server.requests("/api/chat") == []
    box.press("Enter")
    expect(messages(page, "assistant")).to_have_count(1)
    assert server.requests("/api/chat")[0]["body"]["input"] == "line one\nline two"
    assert messages(page, "assistant").first.inner_text() == "line one\nline two"


def test_empty_and_blank_messages_are_never_sent(page: Page, server: Server) -> None:
    open_app(page, server)
    page.get_by_test_id("send-button").click()
    send(page, "   \n  ")
    page.wait_for_timeout(300)
    assert server.requests("/api/chat") == []
    expect(messages(page)).to_have_count(0)


def test_sending_shows_an_indicator_and_disables_send(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "delay", delay_ms=800)
    send(page, "slow one")
    expect(page.get_by_test_id("sending-indicator")).to_be_visible()
    expect(page.get_by_test_id("send-button")).to_be_disabled()
    expect(messages(page, "assistant")).to_have_count(1)
    expect(page.get_by_test_id("sending-indicator")).to_be_hidden()
    expect(page.get_by_test_id("send-button")).to_be_enabled()


def test_pressing_enter_many_times_sends_once(page: Page, server: Server) -> None:
    open_app(page, server)
    server.hold("chat")  # the reply comes only once every press is made, however slow the machine
    box = page.get_by_test_id("message-input")
    box.fill("just once")
    box.press("Enter")
    server.wait_for_requests("/api/chat", 1)
    for _ in range(5):  # the text is back in the box each time, as an impatient user would do
        box.fill("just once")
        box.press("Enter")
    expect(page.locator("#notice")).to_contain_text("kept")
    server.release()
    expect(messages(page, "assistant")).to_have_count(1)
    page.wait_for_timeout(300)
    assert [r["body"]["input"] for r in server.requests("/api/chat")] == ["just once"]
    expect(box).to_have_value("just once")


def test_conversation_survives_a_reload(page: Page, server: Server) -> None:
    open_app(page, server)
    first = send_and_wait(page, "remember me")
    page.reload()
    page.wait_for_selector(READY)
    expect(messages(page)).to_have_text(["remember me", first])


# Sends ``text`` with Enter and, still within that browser task (so no timer can have run), signals
# that the page is being hidden, then reads the stored conversation: the read is queued after any
# write the page started by then.
SEND_THEN_HIDE = """async (text) => {
  const box = document.querySelector('[data-testid=message-input]');
  box.value = text;
  box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}));
  window.dispatchEvent(new Event('pagehide'));
  return (READ)('CHAR_luna');
}""".replace("READ", READ_CONVERSATION)


def test_a_sent_message_is_stored_when_the_page_goes_away_before_its_reply(page: Page, server: Server) -> None:
    """Stored with its reply, or after a moment without one; but never later than the page's last moment."""
    open_app(page, server)
    expect(page.get_by_test_id("send-button")).to_be_enabled()
    server.fault("chat", "delay", delay_ms=5000)
    stored_now = page.evaluate(SEND_THEN_HIDE, "do not lose me")
    # The reply still pending when the page went is said, with Retry (app.sending.page_left).
    left = "The page was closed before the reply finished. Retry sends your message again."
    assert stored_now == [{"role": "user", "text": "do not lose me"}, {"role": "error", "text": left}]
    page.reload()
    page.wait_for_selector(READY)
    expect(messages(page, "user")).to_have_text(["do not lose me"])


def test_reload_reopens_the_character_that_was_open(page: Page, server: Server) -> None:
    open_app(page, server)
    open_character(page, ATLAS)
    page.reload()
    page.wait_for_selector(READY)
    expect(page.locator('[data-testid="character"][aria-current="true"]')).to_have_attribute("data-config-id", ATLAS)


def test_characters_come_from_the_config(page: Page, server: Server) -> None:
    open_app(page, server)
    ids = page.get_by_test_id("character").evaluate_all("els => els.map(e => e.dataset.configId)")
    assert ids == [LUNA, ATLAS, ECHO]
    expect(page.get_by_test_id("character").first).to_contain_text("Luna")
    expect(page.locator('[data-testid="character"][aria-current="true"]')).to_have_count(1)


def test_adding_a_character_by_config_id_opens_it_and_survives_a_reload(page: Page, server: Server) -> None:
    open_app(page, server)
    page.get_by_test_id("add-character-input").fill("  CHAR_new_friend ")
    page.get_by_test_id("add-character-submit").click()
    current = page.locator('[data-testid="character"][aria-current="true"]')
    expect(current).to_have_attribute("data-config-id", "CHAR_new_friend")
    expect(page.get_by_test_id("add-character-input")).to_have_value("")
    send_and_wait(page, "hello new friend")
    assert server.requests("/api/sessions")[-1]["body"] == {"config_id": "CHAR_new_friend"}
    page.reload()
    page.wait_for_selector(READY)
    expect(page.locator('[data-testid="character"][data-config-id="CHAR_new_friend"]')).to_have_count(1)


def test_an_invalid_config_id_gets_a_clear_message_and_keeps_the_text(page: Page, server: Server) -> None:
    open_app(page, server)
    too_long = "X" * 200
    page.get_by_test_id("add-character-input").fill(too_long)
    page.get_by_test_id("add-character-submit").click()
    expect(page.get_by_role("alert")).to_contain_text("at most 128 characters")
    expect(page.get_by_test_id("add-character-input")).to_have_value(too_long)
    expect(page.get_by_test_id("character")).to_have_count(3)


def test_character_query_opens_and_adds_an_unknown_character(page: Page, server: Server) -> None:
    open_app(page, server, "?character=CHAR_from_link")
    current = page.locator('[data-testid="character"][aria-current="true"]')
    expect(current).to_have_attribute("data-config-id", "CHAR_from_link")
    assert server.requests("/api/sessions")[0]["body"] == {"config_id": "CHAR_from_link"}
    assert stored(page, "session_CHAR_from_link")


def test_character_query_opens_a_known_character(page: Page, server: Server) -> None:
    open_app(page, server, f"?character={ATLAS}")
    expect(page.locator('[data-testid="character"][aria-current="true"]')).to_have_attribute("data-config-id", ATLAS)
    expect(page.get_by_test_id("character")).to_have_count(3)


HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b> javascript:alert(1)'


def test_html_in_a_reply_and_in_user_text_is_shown_as_text(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    # Without the CSP, so that only rendering as text stands between the payload and the page.
    page = new_context(bypass_csp=True).new_page()
    open_app(page, server, f"?character={ECHO}")
    reply = send_and_wait(page, HOSTILE)
    assert reply == HOSTILE
    expect(messages(page)).to_have_text([HOSTILE, HOSTILE])
    assert page.locator('[data-testid="message-list"] img, [data-testid="message-list"] script, '
                        '[data-testid="message-list"] b').count() == 0
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None


def test_html_in_config_ids_and_server_errors_is_shown_as_text(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = new_context(bypass_csp=True).new_page()
    evil_id = '<img src=x onerror="window.__pwned=3">'
    open_app(page, server, "?character=" + quote(evil_id))
    expect(page.locator('[data-testid="character"][aria-current="true"]')).to_contain_text(evil_id)
    server.fault("chat", "status", status=403, body={"error": "<img src=x onerror=\"window.__pwned=4\">nope"})
    send(page, "hi")
    expect(messages(page, "error")).to_have_text(["Request failed (403): nope"])
    assert foreign_images(page) == []  # the only images are the configured characters' avatars
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None


def test_the_page_requests_nothing_but_its_own_origin_and_the_api(page: Page, server: Server) -> None:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    open_app(page, server)
    send_and_wait(page, "hi")
    origins = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in seen}
    assert origins == {server.url.rstrip("/"), server.api}


def test_layout_and_progress_show_while_python_loads(page: Page, server: Server) -> None:
    held: list[Route] = []
    page.route(re.compile(r".*/page-stdlib-[^/]*\.zip(\.br)?$"), lambda route: held.append(route))
    page.goto(server.url)
    expect(page.get_by_test_id("message-list")).to_be_attached()
    expect(page.get_by_test_id("character").first).not_to_be_attached()
    # The static text is "Starting…"; PyScript's py:progress events replace it ("Loading interpreter…").
    expect(page.locator("#boot-status")).to_have_text(re.compile(r"^Load(ing|ed) \w+"))
    expect(page.get_by_test_id("send-button")).to_be_disabled()
    assert page.locator("html").get_attribute("data-app-state") == "loading"
    page.wait_for_timeout(200)
    assert page.locator("html").get_attribute("data-app-state") == "loading"
    for route in held:
        route.continue_()
    page.wait_for_selector(READY, timeout=60_000)
    expect(page.locator("#boot")).to_be_hidden()


def test_a_boot_failure_is_shown_in_the_page(page: Page, server: Server, page_errors: list[str]) -> None:
    page.route(re.compile(r".*/app/sessions\.py$"), lambda route: route.fulfill(status=404, body="gone"))
    page.goto(server.url)
    page.wait_for_selector("html[data-app-state=error]", timeout=60_000)
    expect(page.locator("#boot-status")).to_contain_text("could not start")
    expect(page.locator("#boot-status")).to_contain_text("sessions.py")
    expect(page.locator("#boot")).to_be_in_viewport()
    expect(page.locator("[data-placeholder]").first).to_be_attached()  # serve.py's stand-ins, never replaced
    expect(page.locator("[data-placeholder]:visible")).to_have_count(0)  # not shown as if the page worked
    assert page_errors and all("sessions.py" in e for e in page_errors)
    page_errors.clear()


def test_a_first_start_imports_the_app_compiled_ahead_or_compiles_it(page: Page, server: Server) -> None:
    open_app(page, server)
    expect(page.locator("html")).to_have_attribute("data-bytecode", "unpacked")
    send_and_wait(page, "from bytecode")
    page.route(re.compile(r".*/runtime/app-bytecode\.zip$"), lambda route: route.fulfill(status=404, body="gone"))
    page.reload()
    page.wait_for_selector(READY, timeout=60_000)
    expect(page.locator("html")).to_have_attribute("data-bytecode", "none")
    send_and_wait(page, "compiled here")


def failing_wording_bytecode(tmp_path: Path, *, forge_hash: bool) -> bytes:
    """A bytecode zip of a wording.py that raises on import; ``forge_hash``: stamped with the real file's hash."""
    changed = tmp_path / "wording.py"
    real = (ROOT / "app" / "wording.py").read_bytes()
    changed.write_bytes(real + b"\nraise RuntimeError('this bytecode ran')\n")
    zipped = tmp_path / "bytecode.zip"
    pyodide = ROOT / "runtime" / runtime_dirs(pinned_versions(ROOT))[PYODIDE_PACKAGE]
    subprocess.run(["node", str(ROOT / BYTECODE_SCRIPT), str(pyodide), PYODIDE_HOME, str(zipped),
                    str(tmp_path), changed.name], check=True, capture_output=True)
    if not forge_hash:
        return zipped.read_bytes()
    with zipfile.ZipFile(zipped) as bundle:
        (name,) = bundle.namelist()
        pyc = bundle.read(name)
    # Python's check: the source hash, keyed by the .pyc's magic number, at bytes 8 to 16.
    pyc = pyc[:8] + _imp.source_hash(int.from_bytes(pyc[:4], "little"), real) + pyc[16:]
    with zipfile.ZipFile(zipped, "w") as bundle:
        bundle.writestr(name, pyc)
    return zipped.read_bytes()


def serve_bytecode(page: Page, body: bytes) -> None:
    page.route(re.compile(r".*/runtime/app-bytecode\.zip$"),
               lambda route: route.fulfill(status=200, body=body, content_type="application/zip"))


def test_bytecode_that_matches_the_source_is_what_python_runs(
    page: Page, server: Server, tmp_path: Path, page_errors: list[str]
) -> None:
    # Forged to match app/wording.py, this bytecode is run instead of compiling the file:
    # the page fails to start. (It proves the real bytecode is found and used.)
    serve_bytecode(page, failing_wording_bytecode(tmp_path, forge_hash=True))
    page.goto(server.url)
    page.wait_for_selector("html[data-app-state=error]", timeout=60_000)
    expect(page.locator("#boot-status")).to_contain_text("this bytecode ran")
    page_errors.clear()


def test_bytecode_of_other_sources_is_never_run(page: Page, server: Server, tmp_path: Path) -> None:
    # Python finds that this bytecode does not match the wording.py it has, and compiles that instead.
    serve_bytecode(page, failing_wording_bytecode(tmp_path, forge_hash=False))
    open_app(page, server)
    expect(page.locator("html")).to_have_attribute("data-bytecode", "unpacked")
    send_and_wait(page, "still works")


# Each standard-library module read from the zip, and whether from its .pyc or its source.
STDLIB_PROBE = """
import sys as _sys
js.document.documentElement.dataset.stdlib = " ".join(sorted(
    f"{name}={'pyc' if module.__file__.endswith('.pyc') else 'py'}"
    for name, module in list(_sys.modules.items())
    if ".zip/" in (getattr(module, "__file__", None) or "")
    and getattr(module.__spec__, "origin", None) != "frozen"  # built into Python: never read from the zip
))
"""


def stdlib_loaded(page: Page) -> dict[str, str]:
    found = page.locator("html").get_attribute("data-stdlib") or ""
    return dict(item.split("=") for item in found.split())


def test_a_first_visit_compiles_none_of_the_standard_library_it_imports(page: Page, server: Server) -> None:
    serve_main_with(page, STDLIB_PROBE)
    open_app(page, server)
    loaded = stdlib_loaded(page)
    listed = set(startup_modules(ROOT)) - set(idle_modules(ROOT))  # those formatting imports later
    from_source = sorted(name for name, how in loaded.items() if how == "py")
    assert from_source == [], f"compiled on every first visit: add these to {STDLIB_MODULES}"
    unused = sorted(listed - loaded.keys())
    assert unused == [], f"no longer imported at start: remove these from {STDLIB_MODULES}"
    send_and_wait(page, "works")


def test_a_first_visit_downloads_only_the_pages_standard_library(page: Page, server: Server) -> None:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(urlsplit(request.url).path))
    open_app(page, server)
    send_and_wait(page, "works")
    assert "/runtime/page-stdlib-314.0.7.zip.br" in seen  # its Brotli copy (static/runtime-fetch.mjs)
    assert "/runtime/pyodide-314.0.7/python_stdlib.zip" not in seen  # nothing the page imports is left out


# A module the page's standard library leaves out (the page never imports xml).
FALLBACK_PROBE = """
import xml.dom.minidom as _minidom
_parsed = _minidom.parseString("<a>from the whole library</a>")
js.document.documentElement.dataset.fallback = _parsed.documentElement.firstChild.data
"""


def test_a_module_the_pages_standard_library_left_out_still_imports_from_pyodides_whole_one(
    page: Page, server: Server
) -> None:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(urlsplit(request.url).path))
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    serve_main_with(page, FALLBACK_PROBE)
    open_app(page, server)
    expect(page.locator("html")).to_have_attribute("data-fallback", "from the whole library")
    assert seen.count("/runtime/pyodide-314.0.7/python_stdlib.zip") == 1
    assert any("xml is not in the page's standard library" in text for text in warnings), warnings
    send_and_wait(page, "still works")


def test_with_pyodides_own_standard_library_the_page_works_as_before(page: Page, server: Server) -> None:
    # What the page gets when serve.py could not build its standard library (no Node).
    serve_pyodides_own_stdlib(page)
    serve_main_with(page, STDLIB_PROBE)
    open_app(page, server)
    assert set(stdlib_loaded(page).values()) == {"py"}
    send_and_wait(page, "still works")


def test_api_override_to_a_loopback_base_is_used(page: Page, server: Server) -> None:
    loopback = server.api.replace("127.0.0.1", "localhost")
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    open_app(page, server, "?api=" + quote(loopback))
    assert any(u.startswith(loopback + "/api/sessions") for u in seen)
    expect(page.locator("#notice")).to_be_hidden()


def test_api_override_to_a_foreign_host_is_ignored_with_a_warning(page: Page, server: Server) -> None:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    open_app(page, server, "?api=" + quote("https://evil.example.com"))
    expect(page.locator("#notice")).to_contain_text("Ignored ?api=")
    assert not any(urlsplit(u).hostname == "evil.example.com" for u in seen)
    send_and_wait(page, "still works")


def test_an_added_character_can_be_removed_but_configured_ones_cannot(page: Page, server: Server) -> None:
    open_app(page, server, "?character=CHAR_from_a_link")
    send_and_wait(page, "hi")
    expect(page.get_by_test_id("remove-character")).to_have_count(1)
    page.get_by_test_id("remove-character").click()
    page.get_by_test_id("confirm-button").click()
    expect(page.locator('[data-testid="character"][data-config-id="CHAR_from_a_link"]')).to_have_count(0)
    expect(page.locator('[data-testid="character"][aria-current="true"]')).to_have_attribute("data-config-id", LUNA)
    assert stored(page, "session_CHAR_from_a_link") is None
    page.goto(server.url)
    page.wait_for_selector(READY)
    expect(page.get_by_test_id("character")).to_have_count(3)
    expect(page.get_by_test_id("remove-character")).to_have_count(0)
