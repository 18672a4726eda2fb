// Whether this is a first visit, and what it fetches first, decided before the page is first
// drawn (a classic script in <head>: the CSP allows no inline script). serve.py writes the first
// configured character's greeting into the empty conversation, as it will open on a first visit,
// so the page shows it at once instead of when Python is ready. Any other visit may open another
// conversation (the one open last, a stored one, ?character=), so it must not flash that line
// first: there, <html data-returning> hides it (static/style.css), and Python's own drawing
// replaces it anyway.
(() => {
  const returning = () => {
    if (new URLSearchParams(location.search).has("character")) return true;
    try {
      for (let i = 0; i < localStorage.length; i++) {
        const key = localStorage.key(i) ?? "";
        if (key.startsWith("session_") || key === "pychat:open") return true; // app/sessions.py, app/roster.py
      }
      return false;
    } catch {
      return true; // storage blocked: Python will say what it can keep; show nothing it might not
    }
  };
  if (returning()) document.documentElement.dataset.returning = "";
})();

// The runtime's big downloads, preloaded as static/runtime-fetch.mjs will ask for them: the files
// themselves when the service worker answers for this page (it has them cached), else their
// Brotli copies. index.html lists them without a rel, so nothing is fetched twice. The decoder is
// fetched only once the first bytes of a copy have come (static/runtime-fetch.mjs): Lighthouse's
// simulation counts anything fetched before the first paint as holding up the largest one (3.5 s
// against 1.3 s on desktop), and the copies take far longer to arrive than the decoder.
(() => {
  const controlled = !!navigator.serviceWorker?.controller;
  for (const link of document.querySelectorAll("link[data-runtime-preload]")) {
    if (!controlled) {
      link.removeAttribute("type");
      link.href += ".br";
    }
    link.rel = "preload";
  }
})();
