"""A reply's Markdown on screen: what each construct becomes, and what never gets through."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from typing import Any

import pytest

from app import markdown as markdown_module
from app.markdown import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    JS_BUILDER_BODY,
    JS_BUILDER_PARAMETERS,
    LINK_REL,
    MAX_MARKDOWN_CHARS,
    MAX_NESTING,
    LiveMarkdown,
    build_nodes,
    is_safe_url,
    markdown_json,
    markdown_tree,
    plain_text,
    render_markdown,
    text_of,
)

from .fake_dom import FakeDocument, FakeElement

LINK = f'rel="{LINK_REL}" target="_blank"'
COPY = '<button type="button" class="copy-code" data-testid="copy-code">Copy</button>'


def render(markdown: str) -> FakeElement:
    document = FakeDocument()
    root = document.root()
    render_markdown(document, root, markdown)
    return root


def html(markdown: str) -> str:
    return render(markdown).html()


# Blocks and inlines


def test_paragraphs_become_p_elements() -> None:
    assert html("One.\n\nTwo.") == "<p>One.</p><p>Two.</p>"


def test_a_roleplay_action_in_asterisks_is_emphasis() -> None:
    assert html("*smiles* Hello") == "<p><em>smiles</em> Hello</p>"


def test_double_asterisks_are_strong() -> None:
    assert html("**bold** and __bold__") == "<p><strong>bold</strong> and <strong>bold</strong></p>"


def test_double_tildes_strike_through() -> None:
    assert html("~~gone~~") == "<p><s>gone</s></p>"


def test_inline_code_keeps_its_characters_literally() -> None:
    assert html("run `<b>*x*</b>`") == "<p>run <code>&lt;b&gt;*x*&lt;/b&gt;</code></p>"


def test_a_fenced_code_block_has_its_language_and_a_copy_button() -> None:
    assert html("```python\nprint('hi')\n```") == (
        f'<div class="code-block">{COPY}<pre><code data-lang="python" class="language-python">'
        "print('hi')</code></pre></div>"
    )


def test_a_fence_without_info_has_no_language() -> None:
    assert html("```\nplain\n```") == f'<div class="code-block">{COPY}<pre><code>plain</code></pre></div>'


def test_an_indented_code_block_is_a_code_block_too() -> None:
    assert html("Text:\n\n    x = 1\n    y = 2\n") == (
        f'<p>Text:</p><div class="code-block">{COPY}<pre><code>x = 1\ny = 2</code></pre></div>'
    )


def test_every_code_block_gets_its_own_copy_button() -> None:
    root = render("```\na\n```\n\ntext\n\n```js\nb\n```")
    buttons = root.elements("button")
    assert [b.textContent for b in buttons] == ["Copy", "Copy"]
    assert all(b.attributes == {"type": "button", "class": "copy-code", "data-testid": "copy-code"} for b in buttons)
    assert [c.textContent for c in root.elements("code")] == ["a", "b"]


def test_code_keeps_markup_and_whitespace_exactly() -> None:
    code = '<script>alert("x")</script>\n  *not emphasis*\n\ttab'
    assert render(f"~~~\n{code}\n~~~").elements("code")[0].textContent == code


def test_an_odd_info_string_keeps_data_lang_but_gets_no_class() -> None:
    code = render('```c"onmouseover=alert(1)\nx\n```').elements("code")[0]
    assert code.attributes == {"data-lang": 'c"onmouseover=alert(1)'}


def test_a_bullet_list_becomes_ul() -> None:
    assert html("- one\n- two") == "<ul><li>one</li><li>two</li></ul>"


def test_an_ordered_list_keeps_its_start_number() -> None:
    assert html("3. three\n4. four") == '<ol start="3"><li>three</li><li>four</li></ol>'


def test_an_ordered_list_from_one_has_no_start_attribute() -> None:
    assert html("1. one\n2. two") == "<ol><li>one</li><li>two</li></ol>"


def test_a_loose_list_keeps_its_paragraphs() -> None:
    assert html("- one\n\n- two") == "<ul><li><p>one</p></li><li><p>two</p></li></ul>"


def test_lists_nest() -> None:
    assert html("- a\n  - b\n    1. c") == "<ul><li>a<ul><li>b<ol><li>c</li></ol></li></ul></li></ul>"


def test_a_block_quote_becomes_blockquote() -> None:
    assert html("> quoted *text*") == "<blockquote><p>quoted <em>text</em></p></blockquote>"


def test_headings_keep_their_level() -> None:
    assert html("# One\n## Two\n###### Six") == "<h1>One</h1><h2>Two</h2><h6>Six</h6>"


def test_an_underlined_heading_is_a_heading() -> None:
    assert html("Title\n=====\n\nSub\n---") == "<h1>Title</h1><h2>Sub</h2>"


def test_a_thematic_break_becomes_hr() -> None:
    assert html("above\n\n***\n\nbelow") == "<p>above</p><hr><p>below</p>"


def test_a_table_becomes_a_table_with_alignment_classes() -> None:
    assert html("| a | b | c |\n|:--|:-:|--:|\n| 1 | *2* | 3 |") == (
        '<table><thead><tr><th class="align-left">a</th><th class="align-center">b</th>'
        '<th class="align-right">c</th></tr></thead><tbody><tr><td class="align-left">1</td>'
        '<td class="align-center"><em>2</em></td><td class="align-right">3</td></tr></tbody></table>'
    )


def test_a_hard_break_becomes_br() -> None:
    assert html("one  \ntwo\\\nthree") == "<p>one<br>two<br>three</p>"


def test_a_soft_break_is_a_newline_in_the_text() -> None:
    root = render("*waves*\nHello there")
    assert root.html() == "<p><em>waves</em>\nHello there</p>"


def test_an_empty_reply_renders_nothing() -> None:
    assert markdown_tree("") == []
    assert html("") == ""


def test_non_ascii_and_right_to_left_text_is_kept_exactly() -> None:
    text = "مرحبا بالعالم \u200f(שלום)\u200e — 日本語 🙂 e\u0301"
    root = render(f"{text}\n\n**{text}**")
    assert [p.textContent for p in root.elements("p")] == [text, text]


def test_entities_and_escapes_become_the_characters_as_text() -> None:
    assert render("&lt;b&gt; \\*x\\* &amp; &copy;").textContent == "<b> *x* & ©"


# Links


@pytest.mark.parametrize("url", ["https://example.com/a?b=c#d", "http://example.com", "HTTPS://EXAMPLE.COM"])
def test_a_web_link_opens_in_a_new_tab_without_referrer(url: str) -> None:
    link = render(f"see [the page]({url})").elements("a")[0]
    assert link.attributes == {"href": url, "rel": LINK_REL, "target": "_blank"}
    assert link.textContent == "the page"


def test_a_mailto_link_is_a_link() -> None:
    assert html("[write](mailto:luna@example.com)") == f'<p><a href="mailto:luna@example.com" {LINK}>write</a></p>'


def test_a_link_keeps_its_title() -> None:
    assert render('[x](https://example.com "Example")').elements("a")[0].attributes["title"] == "Example"


def test_an_autolink_is_a_link() -> None:
    assert html("<https://example.com>") == f'<p><a href="https://example.com" {LINK}>https://example.com</a></p>'


def test_an_email_autolink_is_a_mailto_link() -> None:
    assert html("<luna@example.com>") == f'<p><a href="mailto:luna@example.com" {LINK}>luna@example.com</a></p>'


def test_a_reference_link_is_a_link() -> None:
    assert html("[x][r]\n\n[r]: https://example.com") == f'<p><a href="https://example.com" {LINK}>x</a></p>'


def test_a_bare_url_stays_text() -> None:
    assert html("go to https://example.com now") == "<p>go to https://example.com now</p>"


def test_a_link_with_spaces_or_quotes_in_its_url_is_percent_encoded() -> None:
    link = render('[x](<https://example.com/a b"c>)').elements("a")[0]
    assert link.attributes["href"] == "https://example.com/a%20b%22c"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "JavaScript:alert(1)",
        "&#106;avascript:alert(1)",
        "&#x6A;avascript:alert(1)",
        "javascript&#58;alert(1)",
        "java%0ascript:alert(1)",
        "<java\nscript:alert(1)>",
        "\\javascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "data:image/png;base64,iVBORw0KGgo=",
        "file:///etc/passwd",
        "ftp://example.com/file",
        "/api/chat",
        "page.html",
        "#top",
        "?q=1",
        "//evil.example/path",
        "https:evil.example",
        "mailto",
    ],
)
def test_a_link_to_anything_but_http_https_or_mailto_stays_the_text_as_written(url: str) -> None:
    root = render(f"click [here]({url}) now")
    assert root.elements("a") == []
    assert root.textContent.startswith("click [here](")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "vbscript:x"])
def test_an_autolink_to_another_scheme_stays_text(url: str) -> None:
    root = render(f"<{url}>")
    assert root.elements("a") == []
    assert root.textContent == f"<{url}>"


def test_a_reference_definition_to_javascript_makes_no_link() -> None:
    root = render("[x][r]\n\n[r]: javascript:alert(1)")
    assert root.elements("a") == []
    assert "[x][r]" in root.textContent


def test_the_url_rule_allows_only_web_and_mail_schemes() -> None:
    assert [is_safe_url(u) for u in ("https://a.b", "http://a.b", "mailto:a@b.c", "MAILTO:a@b.c")] == [True] * 4
    assert [is_safe_url(u) for u in ("javascript:x", "//a.b", "/a", "", "https://a b", "https://a\nb")] == [False] * 6


# Images


def test_an_image_is_a_link_with_its_alt_text_and_is_never_loaded() -> None:
    root = render('![a *cat*](https://example.com/cat.png "Cat")')
    assert root.html() == (
        f'<p><a href="https://example.com/cat.png" {LINK} title="Cat" class="image-link">a cat</a></p>'
    )


def test_an_image_without_alt_text_shows_its_url() -> None:
    assert render("![](https://example.com/i.png)").elements("a")[0].textContent == "https://example.com/i.png"


def test_an_image_inside_a_link_is_its_alt_text_not_a_second_link() -> None:
    assert html("[![a cat](https://x.y/cat.png)](https://x.y)") == f'<p><a href="https://x.y" {LINK}>a cat</a></p>'


@pytest.mark.parametrize("url", ["data:image/png;base64,iVBORw0KGgo=", "javascript:alert(1)", "/x.png", "//h/x.png"])
def test_an_image_with_another_url_stays_text(url: str) -> None:
    root = render(f"![pic]({url})")
    assert root.elements("a") == []
    assert root.textContent == f"![pic]({url})"


def test_no_image_element_is_ever_created() -> None:
    document = FakeDocument()
    for markdown in ("![a](https://x.y/i.png)", "<img src=x onerror=alert(1)>", "[![a](https://x/i.png)](https://x)",
                     "![a](data:image/gif;base64,R0lGOD)", "<picture><img src=x></picture>"):
        render_markdown(document, document.root(), markdown)
    assert "img" not in document.created


# Raw HTML


@pytest.mark.parametrize(
    "markup",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">click</a>',
        "<div onclick=alert(1)>block</div>",
        "<!-- comment -->",
        "<iframe src=https://example.com></iframe>",
        '<svg onload="alert(1)"/>',
        "<style>body{display:none}</style>",
    ],
)
def test_raw_html_as_a_block_is_shown_as_text(markup: str) -> None:
    root = render(markup)
    assert root.textContent == markup
    assert root.elements() == root.elements("p")


@pytest.mark.parametrize("markup", ["<b>bold</b>", "<img src=x onerror=alert(1)>", "<span style=x>s</span>"])
def test_raw_html_inside_a_line_is_shown_as_text(markup: str) -> None:
    root = render(f"before {markup} after")
    assert root.textContent == f"before {markup} after"
    assert root.elements() == root.elements("p")


# Nesting


def test_quotes_nested_within_the_limit_keep_their_shape() -> None:
    assert len(render(">" * 10 + " deep").elements("blockquote")) == 10


def test_a_quote_ten_thousand_deep_shows_its_text_quickly_without_recursion_error() -> None:
    start = time.perf_counter()
    root = render(">" * 10_000 + " the bottom")
    assert time.perf_counter() - start < 2.0
    assert root.textContent.endswith("the bottom")


def test_a_list_ten_thousand_deep_shows_its_text() -> None:
    assert render("- " * 10_000 + "leaf").textContent.endswith("leaf")


def test_nesting_deep_enough_to_reach_the_limit_shows_the_reply_as_written() -> None:
    markdown = ">" * MAX_NESTING + " inside"
    assert markdown_tree(markdown) == [["p", {"class": "as-written"}, markdown]]


def test_building_a_very_deep_tree_needs_no_recursion() -> None:
    tree: list[object] = ["p", {}, "bottom"]
    for _ in range(5_000):
        tree = ["blockquote", {}, tree]
    document = FakeDocument()
    root = document.root()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        build_nodes(document, root, [tree])
    finally:
        sys.setrecursionlimit(limit)
    assert len(root.elements("blockquote")) == 5_000


# Streaming


def test_an_unclosed_fence_while_streaming_is_a_code_block_in_progress() -> None:
    _, nodes = LiveMarkdown().update("Here:\n\n```python\ndef f():\n    return")
    root = FakeDocument().root()
    build_nodes(FakeDocument(), root, nodes)
    assert root.elements("p")[0].textContent == "Here:"
    code = root.elements("code")[0]
    assert (code.attributes["data-lang"], code.textContent) == ("python", "def f():\n    return")


def test_a_streaming_render_keeps_the_blocks_already_shown() -> None:
    live = LiveMarkdown()
    assert live.update("First.\n\nSecond par") == (0, [["p", {}, "First."], ["p", {}, "Second par"]])
    assert live.update("First.\n\nSecond paragraph.\n\nThird") == (
        1, [["p", {}, "Second paragraph."], ["p", {}, "Third"]])


def test_a_streaming_render_of_the_same_text_changes_nothing() -> None:
    live = LiveMarkdown()
    live.update("a\n\n- b")
    assert live.update("a\n\n- b") == (2, [])


STREAMED = [
    "# Title\n\nSome *emphasis* and **strong** text\nover two lines.\n\n- one\n- two\n\n  still two\n- three\n\n"
    "1. first\n2. second\n\n> a quote\ncontinued lazily\n\n```python\ndef f():\n\n    return 1\n```\n\n"
    "    indented code\n\nSetext heading\n---\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n***\n\nThe end.",
    "*smiles* Hello.\r\n\r\n*waves*\r\n- a\r\n- b\r\n\r\nDone.",
    "~~~\nfence with tildes\n~~~\nafter\n\n> > nested\n> back\n\n- [link](https://example.com) `code`\n",
]


@pytest.mark.parametrize("document", STREAMED)
def test_every_streamed_prefix_renders_as_the_whole_text_would(document: str) -> None:
    live = LiveMarkdown()
    shown: list[Any] = []
    for end in range(1, len(document) + 1):
        keep, nodes = live.update(document[:end])
        shown = shown[:keep] + nodes
        assert shown == markdown_tree(document[:end]), document[:end]


def test_a_streaming_render_parses_only_the_open_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = markdown_module._parser()
    parsed: list[int] = []
    original = parser.parse
    monkeypatch.setattr(parser, "parse", lambda text, *a: parsed.append(len(text)) or original(text, *a))
    live = LiveMarkdown()
    text = ""
    for n in range(200):
        text += f"Paragraph {n} with *some* words.\n\n"
        live.update(text)
    assert max(parsed[-10:]) < 80  # the last paragraphs only, not the 7,000 characters before them


def test_a_streaming_text_that_is_not_a_continuation_is_rendered_afresh() -> None:
    live = LiveMarkdown()
    live.update("One.\n\nTwo.\n\nThr")
    assert live.update("Other.\n\nText") == (0, [["p", {}, "Other."], ["p", {}, "Text"]])


def test_a_reply_too_long_to_format_is_shown_as_written() -> None:
    text = "*word* " * (MAX_MARKDOWN_CHARS // 7 + 1)
    assert markdown_tree(text) == [["p", {"class": "as-written"}, text]]
    assert LiveMarkdown().update(text) == (0, [["p", {"class": "as-written"}, text]])


# The builder and its output


def test_the_builder_uses_only_create_element_set_attribute_text_content_and_append() -> None:
    document = FakeDocument()
    sample = "# T\n\n*a* **b** `c` [d](https://e.f)\n\n> q\n\n- l\n\n```py\nx\n```\n\n| h |\n|---|\n| v |"
    render_markdown(document, document.root(), sample)
    assert set(document.calls) == {"createElement", "setAttribute", "textContent", "append"}


def test_the_fake_dom_offers_no_html_parsing_api() -> None:
    element = FakeDocument().root()
    for name in ("innerHTML", "outerHTML", "insertAdjacentHTML", "createContextualFragment", "setHTMLUnsafe"):
        assert not hasattr(element, name)
        with pytest.raises(AttributeError):
            setattr(element, name, "<b>x</b>")


def test_the_builder_refuses_a_tag_outside_the_allowed_set() -> None:
    with pytest.raises(ValueError, match="script"):
        build_nodes(FakeDocument(), FakeDocument().root(), [["script", {}, "alert(1)"]])


def test_the_builder_refuses_an_attribute_outside_the_allowed_set() -> None:
    with pytest.raises(ValueError, match="onclick"):
        build_nodes(FakeDocument(), FakeDocument().root(), [["p", {"onclick": "alert(1)"}, "x"]])


def test_every_construct_uses_only_allowed_tags_and_attributes() -> None:
    document = FakeDocument()
    root = document.root()
    render_markdown(document, root, "# h\n\n*e* **s** ~~d~~ `c` [l](https://x) ![i](https://y) <https://z>  \nx\n\n"
                                    "> q\n\n1. a\n2. b\n\n- c\n\n---\n\n```py\nz\n```\n\n    i\n\n| a |\n|:-:|\n| b |")
    elements = root.elements()
    assert {e.tag for e in elements} <= ALLOWED_TAGS
    assert {name for e in elements for name in e.attributes} <= ALLOWED_ATTRIBUTES


def test_the_json_form_is_the_same_tree() -> None:
    markdown = "*a* [b](https://c)\n\n```py\nd\n```"
    assert json.loads(markdown_json(markdown)) == markdown_tree(markdown)


def test_the_json_form_keeps_non_ascii_as_written() -> None:
    assert "مرحبا" in markdown_json("مرحبا")


def test_plain_text_is_the_words_without_markup_or_copy_labels() -> None:
    source = "# Hi\n\n*waves* **Luna**\n\n```\ncode\n```\n\n- a\n- b"
    assert plain_text(source) == text_of(markdown_tree(source)) == "Hi\nwaves Luna\ncode\na\nb"


# The one-call JavaScript builder (run in Node, which CI has for npm)

_NODE_DOM = r"""
const esc = (s, quote) => { s = s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return quote ? s.replace(/"/g, "&quot;").replace(/'/g, "&#x27;") : s; };
class Text { constructor(data) { this.data = data; } remove() { this.parent.childNodes.splice(
  this.parent.childNodes.indexOf(this), 1); } }
class Element {
  constructor(tag) { this.tag = tag; this.attributes = []; this.childNodes = []; }
  setAttribute(name, value) { this.attributes.push([name, String(value)]); }
  append(...nodes) { for (const n of nodes) {
    if (n instanceof Element && n.tag === "#fragment") { for (const c of n.childNodes) { c.parent = this;
      this.childNodes.push(c); } continue; }
    const node = typeof n === "string" ? new Text(n) : n; node.parent = this; this.childNodes.push(node); } }
  get lastChild() { return this.childNodes[this.childNodes.length - 1]; }
  remove() { Text.prototype.remove.call(this); }
  html() { return this.childNodes.map((n) => n instanceof Text ? esc(n.data, false) :
    `<${n.tag}${n.attributes.map(([k, v]) => ` ${k}="${esc(v, true)}"`).join("")}>` +
    (["br", "hr"].includes(n.tag) ? "" : `${n.html()}</${n.tag}>`)).join(""); }
}
globalThis.document = { createElement: (t) => new Element(t), createDocumentFragment: () => new Element("#fragment") };
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const build = new Function(...input.parameters, input.body);
const parent = new Element("div");
for (const [json, keep] of input.calls) build(parent, json, keep);
process.stdout.write(parent.html());
"""


def _node_build(calls: list[tuple[str, int]]) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the README's test command needs Node 20)", pytrace=False)
    request = json.dumps({"parameters": JS_BUILDER_PARAMETERS, "body": JS_BUILDER_BODY, "calls": calls})
    result = subprocess.run([node, "-e", _NODE_DOM], input=request, capture_output=True, text=True, timeout=30)
    if result.returncode:
        raise RuntimeError(result.stderr)
    return result.stdout


RICH = ("# T\n\n*a* **b** ~~c~~ `<d>` [e](https://e.f \"t\") ![i](https://i.j) <x@y.z>  \nnext\nline\n\n"
        "> q\n\n3. a\n4. b\n\n- c\n\n---\n\n```py\n<script>'\"&\n```\n\n| h | k |\n|:-:|--:|\n| v | w |\n\n"
        "<img src=x onerror=alert(1)> مرحبا")


def test_the_javascript_builder_builds_what_the_python_builder_builds() -> None:
    assert _node_build([(markdown_json(RICH), 0)]) == html(RICH)


def test_the_javascript_builder_replaces_only_the_blocks_after_keep() -> None:
    live = LiveMarkdown()
    _, before = live.update("First.\n\nSecond par")
    keep, after = live.update("First.\n\nSecond paragraph.")
    calls = [(json.dumps(before), 0), (json.dumps(after), keep)]
    assert _node_build(calls) == "<p>First.</p><p>Second paragraph.</p>"


def test_the_javascript_builder_refuses_a_tag_outside_the_allowed_set() -> None:
    with pytest.raises(RuntimeError, match="tag not allowed: script"):
        _node_build([(json.dumps([["script", {}, "alert(1)"]]), 0)])
