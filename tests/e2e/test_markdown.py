"""Replies formatted as Markdown in Chromium: what each construct becomes, and what never gets through."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .conftest import READY, Server, open_app
from .helpers import ECHO, LUNA, send, serve_pyodides_own_stdlib, wait_until_stored

FORMATTED = ".message.assistant .bubble.markdown"
SAMPLE = (
    "# Title\n\n*smiles* Hello **you** and ~~not~~ `x < y`.\n\n- one\n- two\n\n1. first\n2. second\n\n"
    "> quoted\n\n```python\nprint('hi')\n```\n\n    indented code\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n---\n\nEnd."
)


def reply_to(page: Page, server: Server, markdown: str, *, streamed: bool = True) -> None:
    """Have the proxy answer ``markdown`` (streamed by Echo, or as one JSON reply) and wait for it."""
    if not streamed:
        server.fault("chat", "reply", body={"ai": markdown})
    send(page, markdown if streamed else "hello")
    expect(page.locator(FORMATTED)).to_have_count(1)


def html_of_reply(page: Page) -> str:
    return page.locator(FORMATTED).last.inner_html()


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "json"])
def test_a_reply_is_formatted_as_markdown(page: Page, server: Server, streamed: bool) -> None:
    open_app(page, server, f"?character={ECHO}")
    reply_to(page, server, SAMPLE, streamed=streamed)
    bubble = page.locator(FORMATTED)
    expect(bubble.locator("h1")).to_have_text("Title")
    expect(bubble.locator("em")).to_have_text("smiles")  # a roleplay action
    expect(bubble.locator("strong")).to_have_text("you")
    expect(bubble.locator("s")).to_have_text("not")
    expect(bubble.locator("p > code")).to_have_text("x < y")
    expect(bubble.locator("ul > li")).to_have_text(["one", "two"])
    expect(bubble.locator("ol > li")).to_have_text(["first", "second"])
    expect(bubble.locator("blockquote")).to_have_text("quoted")
    expect(bubble.locator("pre code")).to_have_text(["print('hi')", "indented code"])
    expect(bubble.locator("pre code").first).to_have_attribute("data-lang", "python")
    expect(bubble.get_by_test_id("copy-code")).to_have_count(2)
    expect(bubble.locator("th")).to_have_text(["a", "b"])
    expect(bubble.locator("td.align-right")).to_have_text("2")
    expect(bubble.locator("hr")).to_have_count(1)


def test_the_users_own_message_stays_plain_text_exactly_as_typed(page: Page, server: Server) -> None:
    open_app(page, server, f"?character={ECHO}")
    reply_to(page, server, "*not emphasis* **nor strong**")
    user = page.locator(".message.user .bubble")
    expect(user).to_have_text("*not emphasis* **nor strong**")
    expect(user.locator("*")).to_have_count(0)


LINKS = {
    "https://example.com/a?b=c": "https://example.com/a?b=c",
    "http://example.com": "http://example.com",
    "mailto:luna@example.com": "mailto:luna@example.com",
}
NOT_LINKS = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<b>x</b>", "vbscript:x", "file:///etc/passwd",
             "/relative", "//example.com/protocol-relative", "blob:https://example.com/x"]


def test_only_web_and_mail_links_become_links_opening_in_a_new_tab_without_referrer(page: Page, server: Server) -> None:
    open_app(page, server, f"?character={ECHO}")
    lines = [f"- [ok {n}]({url})" for n, url in enumerate(LINKS)]
    lines += [f"- [bad {n}]({url})" for n, url in enumerate(NOT_LINKS)]
    lines.append("- <https://example.org/auto> and <javascript:alert(2)>")
    reply_to(page, server, "\n".join(lines), streamed=False)
    links = page.locator(f"{FORMATTED} a")
    expect(links).to_have_count(len(LINKS) + 1)
    for n, href in enumerate(LINKS.values()):
        link = page.locator(FORMATTED).get_by_text(f"ok {n}", exact=True)
        expect(link).to_have_attribute("href", href)
        expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
        expect(link).to_have_attribute("target", "_blank")
    expect(links.last).to_have_attribute("href", "https://example.org/auto")
    for n, url in enumerate(NOT_LINKS):  # shown as written, never a link
        expect(page.locator(FORMATTED).locator("li").nth(len(LINKS) + n)).to_have_text(f"[bad {n}]({url})")
    assert "javascript:alert(2)" in page.locator(FORMATTED).inner_text()


@pytest.fixture
def csp_bypassed(new_context: object) -> Iterator[BrowserContext]:
    """A page whose Content-Security-Policy is off: only the renderer stands between a reply and the DOM."""
    context = new_context(bypass_csp=True)  # type: ignore[operator]
    yield context


def test_images_are_never_loaded_but_shown_as_links_with_their_alt_text(
    csp_bypassed: BrowserContext, server: Server
) -> None:
    page = csp_bypassed.new_page()
    image_requests: list[str] = []
    page.on("request", lambda request: image_requests.append(request.url) if "img.example" in request.url else None)
    open_app(page, server, f"?character={ECHO}")
    reply_to(page, server, "See ![a red star](https://img.example/star.png \"Star\") and ![](https://img.example/x.png)"
                           " and ![local](/static/favicon.svg) and ![js](javascript:alert(1))", streamed=False)
    bubble = page.locator(FORMATTED)
    expect(bubble.locator("img, picture, svg, video, audio, iframe, object")).to_have_count(0)
    images = bubble.locator("a.image-link")
    expect(images).to_have_text(["a red star", "https://img.example/x.png"])
    expect(images.first).to_have_attribute("href", "https://img.example/star.png")
    expect(images.first).to_have_attribute("title", "Star")
    expect(bubble).to_contain_text("and ![local](/static/favicon.svg) and ![js](javascript:alert(1))")  # as written
    page.wait_for_timeout(300)
    assert image_requests == []


HOSTILE = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=1</script>",
    '<a href="javascript:window.__pwned=1">click</a>',
    '<svg onload="window.__pwned=1"></svg>',
    '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    "<style>body{display:none}</style>",
    '<div style="position:fixed;inset:0" onclick="window.__pwned=1">x</div>',
]


def test_raw_html_in_a_reply_is_shown_as_text_even_without_the_csp(
    csp_bypassed: BrowserContext, server: Server
) -> None:
    page = csp_bypassed.new_page()
    open_app(page, server, f"?character={ECHO}")
    markdown = "\n\n".join(HOSTILE) + "\n\nInline <b>bold</b> and <img src=y onerror=window.__pwned=2> too."
    reply_to(page, server, markdown, streamed=False)
    bubble = page.locator(FORMATTED)
    for markup in HOSTILE:
        expect(bubble).to_contain_text(markup)
    expect(bubble).to_contain_text("Inline <b>bold</b> and <img src=y onerror=window.__pwned=2> too.")
    expect(bubble.locator("script, img, svg, iframe, style, b, div[style]")).to_have_count(0)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None


def test_copy_on_a_code_block_copies_its_code_and_copy_on_the_reply_copies_its_markdown(
    new_context: object, server: Server
) -> None:
    context = new_context()  # type: ignore[operator]
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url.rstrip("/"))
    page = open_app(context.new_page(), server, f"?character={ECHO}")
    markdown = "Run **this**:\n\n```sh\necho 'a  b' && ls\n```"
    reply_to(page, server, markdown)
    page.locator(FORMATTED).get_by_test_id("copy-code").click()
    expect(page.locator(FORMATTED).get_by_test_id("copy-code")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "echo 'a  b' && ls"
    reply = page.locator(".message.assistant")
    reply.hover()
    reply.get_by_test_id("copy-button").click()
    expect(reply.get_by_test_id("copy-button")).to_have_text("Copied")  # the clipboard is written by then
    assert page.evaluate("navigator.clipboard.readText()") == markdown


def test_a_streaming_reply_renders_its_markdown_as_it_stands(page: Page, server: Server) -> None:
    open_app(page, server, f"?character={ECHO}")
    server.fault("chat", "stream", stall_after=6, stall_ms=4000)
    send(page, "Intro *here*\n\n```python\ndef f():\n    return 1\n```\n\nAfter the code.")
    live = page.locator('.message[aria-busy="true"] .bubble')
    expect(live.locator("pre code")).to_be_visible()  # the fence not closed yet: a code block in progress
    expect(live.locator("em")).to_have_text("here")
    expect(live).not_to_contain_text("```")
    # The blocks already shown stay the same elements while the rest streams in: no flicker.
    page.evaluate("""() => {
        const intro = document.querySelector('.message[aria-busy="true"] .bubble p');
        window.__introRemoved = false;
        new MutationObserver((records) => {
            if (records.some((r) => [...r.removedNodes].includes(intro))) window.__introRemoved = true;
        }).observe(intro.parentElement, {childList: true});
    }""")
    expect(page.locator(FORMATTED).locator("p")).to_have_text(["Intro here", "After the code."], timeout=15_000)
    assert page.evaluate("window.__introRemoved") is False


def test_a_formatted_reply_is_stored_as_written_and_formatted_again_after_a_reload(page: Page, server: Server) -> None:
    open_app(page, server, f"?character={ECHO}")
    reply_to(page, server, "**kept** as *written*")
    stored_messages = wait_until_stored(page, ECHO, 2)  # stored just after it is shown
    assert [m["text"] for m in stored_messages if m["role"] == "assistant"] == ["**kept** as *written*"]
    page.reload()
    page.wait_for_selector(READY)
    expect(page.locator(FORMATTED).locator("strong")).to_have_text("kept")


def test_every_reply_of_a_long_reloaded_conversation_is_formatted(page: Page, server: Server) -> None:
    open_app(page, server, f"?character={ECHO}")
    page.evaluate(
        """(id) => localStorage.setItem(`pychat:transcript:${id}`, JSON.stringify(
            Array.from({length: 80}, (_, n) => ({role: n % 2 ? 'assistant' : 'user', text: `**reply** ${n}`}))))""",
        ECHO,
    )
    page.reload()
    page.wait_for_selector(READY)
    expect(page.locator(".message.assistant .bubble").last.locator("strong")).to_have_text("reply")
    expect(page.locator('[data-markdown="pending"]')).to_have_count(0)
    expect(page.locator(f"{FORMATTED} strong")).to_have_count(40)


def test_the_demo_characters_show_what_markdown_they_can_write(page: Page, server: Server) -> None:
    open_app(page, server, f"?character={LUNA}")
    send(page, "Can you write Markdown?")
    bubble = page.locator(FORMATTED)
    expect(bubble.locator("h2")).to_have_text("A little of everything")
    expect(bubble.locator("table tr")).to_have_count(3)
    expect(bubble.locator("pre code")).to_contain_text("def greet(name):")


def test_the_markdown_export_keeps_a_replys_markdown_as_written(page: Page, server: Server) -> None:
    open_app(page, server, f"?character={ECHO}")
    reply_to(page, server, "*smiles* **Hello**")
    with page.expect_download() as info:
        page.get_by_test_id("export-markdown").click()
    text = open(info.value.path(), encoding="utf-8").read()
    assert re.search(r"\*\*You\*\*\n\n> \\\*smiles\\\* \\\*\\\*Hello\\\*\\\*\n", text)  # the user's words: literal
    assert "**Echo**\n\n> *smiles* **Hello**\n" in text  # the reply's Markdown, as written


def test_without_markdown_it_replies_are_shown_as_written_and_the_page_works(page: Page, server: Server) -> None:
    serve_pyodides_own_stdlib(page)  # a standard library without the page's packages in it
    open_app(page, server, f"?character={ECHO}")
    expect(page.locator("html")).to_have_attribute("data-formatter", "failed")
    send(page, "**as written**")
    expect(page.locator(".message.assistant .bubble")).to_have_text("**as written**")
    expect(page.locator(FORMATTED)).to_have_count(0)
