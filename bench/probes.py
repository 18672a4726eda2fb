"""What the benchmark injects into the pages it measures (JavaScript run before any of theirs)."""

# Time from the Enter keydown to the reply's element appearing.
SEND_PROBE = """(() => {
  window.__sends = [];
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) window.__t0 = performance.now();
  }, true);
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      const sel = '[data-role=assistant]';
      const reply = n.nodeType === 1 && (n.matches(sel) || n.querySelector(sel));
      if (reply && window.__t0) {
        window.__sends.push(performance.now() - window.__t0);
        window.__t0 = 0;
      }
    }
  }).observe(document, {childList: true, subtree: true});
})();"""

# The chat page saves a Pyodide snapshot after its first start (static/pyodide-snapshot.mjs);
# a returning visitor has it, so reloads are measured once it is stored. Other pages have no such state.
SNAPSHOT_SETTLED = "!['fresh', 'failed', 'saving'].includes(document.documentElement.dataset.snapshot)"
# Its service worker installs once it is ready (static/offline.js); a returning visitor has it installed.
OFFLINE_SETTLED = ("!document.querySelector('meta[name=\"pychat-version\"]') || "
                   "['ready', 'failed', 'off', 'update'].includes(document.documentElement.dataset.offline)")
