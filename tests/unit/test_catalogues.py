"""Every message id the page shows is translated in every catalogue, with the same placeholders.

The ids come from the code itself: ``_()``, ``N_()`` and ``ngettext()`` in app/**/*.py,
index.html's ``data-i18n`` text and ``data-i18n-attrs`` attributes, and static/boot.js's ``t()``.
"""

from __future__ import annotations

import functools
import gettext
import io
import re
import string
from pathlib import Path

import pytest

from app.i18n import LANGUAGE_NAMES, LANGUAGES
from serving.catalogues import (
    Entry,
    app_message_ids,
    catalogue_languages,
    html_message_ids,
    load_catalogue,
    page_message_ids,
    page_strings,
    python_message_ids,
    read_po,
    write_mo,
)

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = LANGUAGES[1:]
NPLURALS = {"de": 2, "es": 2, "ar": 6}


@functools.cache
def _all_ids() -> tuple[str | tuple[str, str], ...]:
    return tuple(dict.fromkeys([*app_message_ids(ROOT), *page_message_ids(ROOT)]))


def all_ids() -> list[str | tuple[str, str]]:
    return list(_all_ids())


def placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def entries(lang: str) -> dict[str | tuple[str, str], Entry]:
    found: dict[str | tuple[str, str], Entry] = {}
    for entry in load_catalogue(lang, ROOT):
        if entry.msgid:
            found[entry.msgid if entry.msgid_plural is None else (entry.msgid, entry.msgid_plural)] = entry
    return found


def test_every_shipped_language_but_english_has_a_catalogue() -> None:
    assert catalogue_languages(ROOT) == sorted(TRANSLATED)


def test_the_code_has_message_ids_to_translate() -> None:
    ids = all_ids()
    assert "Send" in ids and "Network error: Unable to connect to server" in ids
    assert ("{count} message", "{count} messages") in ids
    assert "The page could not start: {message}" in ids  # static/boot.js's


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_id_is_translated_in_the_catalogue(lang: str) -> None:
    have = entries(lang)
    missing = [i for i in all_ids() if i not in have]
    unused = [i for i, e in have.items() if not e.used]
    assert missing == [], f"{lang}: add these to locales/{lang}/LC_MESSAGES/pychat.po"
    assert unused == [], f"{lang}: empty or fuzzy (msgfmt would leave them out): mark doubts with '# unsure:'"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_catalogue_holds_no_message_the_page_no_longer_shows(lang: str) -> None:
    shown = set(all_ids())  # once: reading every source for each entry took minutes
    assert [i for i in entries(lang) if i not in shown] == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_placeholders_are_the_same_in_the_id_and_the_translation(lang: str) -> None:
    wrong = []
    for ident, entry in entries(lang).items():
        if entry.msgid_plural is None:
            if placeholders(entry.msgstr[0]) != placeholders(entry.msgid):
                wrong.append((entry.msgid, entry.msgstr[0]))
            continue
        expected = placeholders(entry.msgid) | placeholders(entry.msgid_plural)
        for form in entry.msgstr:  # a form may leave the number out ("رسالتان": two messages), nothing else
            if not expected - {"count"} <= placeholders(form) <= expected:
                wrong.append((ident, form))
    assert wrong == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_plural_messages_have_every_form_of_the_language(lang: str) -> None:
    header = load_catalogue(lang, ROOT)[0]
    assert header.msgid == "" and f"nplurals={NPLURALS[lang]};" in header.msgstr[0]
    assert {len(e.msgstr) for e in entries(lang).values() if e.msgid_plural} == {NPLURALS[lang]}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_compiled_catalogue_reads_back_with_python_s_gettext(lang: str) -> None:
    compiled = gettext.GNUTranslations(io.BytesIO(write_mo(load_catalogue(lang, ROOT))))
    for ident, entry in entries(lang).items():
        if isinstance(ident, tuple):
            assert compiled.ngettext(*ident, 5) in entry.msgstr
        else:
            assert compiled.gettext(ident) == entry.msgstr[0]


def test_fuzzy_entries_are_left_out_of_the_compiled_catalogue_as_msgfmt_does() -> None:
    po = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n#, fuzzy\nmsgid "Send"\nmsgstr "Senden"\n'
    assert gettext.GNUTranslations(io.BytesIO(write_mo(read_po(po)))).gettext("Send") == "Send"


def test_po_strings_unescape_and_continue_over_lines() -> None:
    (entry,) = read_po('# unsure: check\nmsgid ""\n"Say \\"hi\\"\\n"\nmsgstr "Sag \\"hallo\\"\\n"\n')
    assert (entry.msgid, entry.msgstr, entry.comments) == ('Say "hi"\n', ['Sag "hallo"\n'], ["unsure: check"])


def test_the_ids_are_found_in_python_calls_only_when_literal() -> None:
    source = 'a = _("One"); b = _(name); c = N_("Two"); d = ngettext("{count} x", "{count} xs", n); e = f(_)'
    assert python_message_ids(source) == ["One", "Two", ("{count} x", "{count} xs")]


def test_marked_html_is_found_with_its_white_space_collapsed() -> None:
    html = '<p data-i18n>Two\n   lines</p><input placeholder="Type…" data-i18n-attrs="placeholder"><b>not</b>'
    assert html_message_ids(html) == ["Two lines", "Type…"]


def test_a_marked_element_holding_elements_is_refused() -> None:
    with pytest.raises(ValueError, match="holds elements"):
        html_message_ids("<p data-i18n>Config ID <code>x</code></p>")


def test_the_page_strings_carry_every_language_and_the_words_shown_before_python() -> None:
    strings = page_strings(ROOT)
    assert strings["languages"] == list(LANGUAGES) and strings["rtl"] == ["ar"]
    words = strings["words"]
    assert isinstance(words, dict)
    assert words["de"]["Send"] == "Senden" and words["ar"]["Starting…"] == "جارٍ البدء…"
    assert "Network error: Unable to connect to server" not in words["de"]  # Python's own: not inlined


def test_the_language_menu_offers_each_shipped_language_in_its_own_words() -> None:
    html = (ROOT / "index.html").read_text(encoding="utf-8")
    select = re.search(r'<select id="language-select".*?</select>', html, re.DOTALL)
    assert select is not None
    options = re.findall(r'<option value="(\w+)" lang="\1"[^>]*>([^<]+)</option>', select[0])
    assert options == list(LANGUAGE_NAMES.items()) and [v for v, _n in options] == list(LANGUAGES)
