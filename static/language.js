// The page's language, before it is first drawn and before Python starts: the same rule as
// app/i18n.py's choose_language() (?lang=, else the menu's choice kept under "pychat:lang", else
// the first of navigator.languages that the page ships, else English), only shipped languages.
// A classic script in <head> (the CSP allows no inline script): it sets <html lang dir> at once,
// then, when the body is parsed, puts the static text of index.html in that language. The words
// are index.html's own "page-strings" JSON, which serve.py fills from the gettext catalogues, so
// this costs no request. The language control (#language-select) keeps the choice and reloads.
(() => {
  const KEY = "pychat:lang";
  const TAG = /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$/; // a BCP 47 tag's shape, as in app/i18n.py
  const root = document.documentElement;
  let strings = {};
  try {
    strings = JSON.parse(document.getElementById("page-strings")?.textContent || "{}");
  } catch {
    // no words: the page stays in English
  }
  const languages = Array.isArray(strings.languages) && strings.languages.length ? strings.languages : ["en"];
  const shipped = (tag) => {
    if (typeof tag !== "string" || tag.length > 35 || !TAG.test(tag.trim())) return null;
    const primary = tag.trim().replace(/_/g, "-").split("-")[0].toLowerCase();
    return languages.includes(primary) ? primary : null;
  };
  const stored = () => {
    try {
      return localStorage.getItem(KEY);
    } catch {
      return null; // storage blocked: the browser's language
    }
  };
  const query = new URLSearchParams(location.search).get("lang");
  const lang = [query, stored(), ...(navigator.languages || [navigator.language])].map(shipped).find(Boolean)
    || languages[0];
  const words = (strings.words && strings.words[lang]) || {};
  root.lang = lang;
  root.dir = (strings.rtl || []).includes(lang) ? "rtl" : "ltr";

  const translate = () => {
    for (const node of document.querySelectorAll("[data-i18n]")) {
      const id = node.textContent.split(/\s+/).filter(Boolean).join(" ");
      if (Object.hasOwn(words, id)) node.textContent = words[id];
    }
    for (const node of document.querySelectorAll("[data-i18n-attrs]")) {
      for (const name of node.dataset.i18nAttrs.split(/\s+/).filter(Boolean)) {
        const id = node.getAttribute(name);
        if (id !== null && Object.hasOwn(words, id)) node.setAttribute(name, words[id]);
      }
    }
    const select = document.getElementById("language-select");
    if (!select) return;
    select.value = lang;
    select.addEventListener("change", () => {
      const chosen = shipped(select.value) || languages[0];
      try {
        localStorage.setItem(KEY, chosen);
      } catch {
        // not remembered: this load still shows it, through ?lang=
      }
      const url = new URL(location.href);
      url.searchParams.delete("lang");
      if (stored() !== chosen) url.searchParams.set("lang", chosen);
      location.assign(url.href); // a new load shows every word, Python's too, in the chosen language
    });
  };
  // "interactive": the body is parsed, and no deferred script (boot.js, PyScript) has run yet.
  if (document.readyState === "loading") {
    document.addEventListener("readystatechange", translate, { once: true });
  } else {
    translate();
  }
})();
