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
