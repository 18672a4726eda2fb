// Runs before PyScript: shows its progress while Python loads, and shows a boot
// failure in the page instead of leaving it stuck on "loading".
const root = document.documentElement;
const status = document.getElementById("boot-status");
const box = document.getElementById("boot");

// The boot messages, in the language static/language.js chose (<html lang>): from index.html's
// "page-strings", which serve.py fills from the catalogues with the ids this file passes to t.
const words = (() => {
  try {
    return JSON.parse(document.getElementById("page-strings")?.textContent || "{}").words?.[root.lang] || {};
  } catch {
    return {};
  }
})();
const t = (id, values = {}) => (Object.hasOwn(words, id) ? words[id] : id)
  .replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(values, name) ? String(values[name]) : whole));
// PyScript's own progress messages (it has no catalogue): those this page goes through.
const PROGRESS = {
  "Loading interpreter": t("Loading interpreter…"),
  "Loaded interpreter": t("Loaded interpreter…"),
  "Loading Pyodide": t("Loading Pyodide…"),
  "Loaded Pyodide": t("Loaded Pyodide…"),
  "Loading Storage": t("Loading Storage…"),
  "Loaded Storage": t("Loaded Storage…"),
  "Loading files": t("Loading files…"),
  "Loaded files": t("Loaded files…"),
  "Loading JS modules": t("Loading JS modules…"),
  "Loaded JS modules": t("Loaded JS modules…"),
};

// PyScript opens IndexedDB databases of its own ("IDBMap/..."): one for pyscript.fs as soon as
// its core is imported, and one for Pyodide's package cache, which start-up awaits ("Loading
// Storage"); no config option avoids either. When the browser refuses site data (Chromium's "Block
// all cookies and site data", some cross-site frames) the open fails, and PyScript's error handler
// re-dispatches the very event it is handling: an uncaught InvalidStateError ("already being
// dispatched"), a rejected start-up. So a refused open of one of those databases is answered
// with a database in memory instead, which PyScript uses as it would the real one (nothing of it
// is kept). Every other IndexedDB use is left as it is; app/browser.py's browser_storage() reports
// to the page what works.
function memoryDatabase() {
  const entries = new Map();
  const answer = (result) => {
    const request = {};
    queueMicrotask(() => request.onsuccess && request.onsuccess({ target: { result } }));
    return request;
  };
  const store = {
    count: () => answer(entries.size),
    get: (key) => answer(entries.get(key)),
    getKey: (key) => answer(entries.has(key) ? key : undefined),
    getAllKeys: () => answer([...entries.keys()]),
    put: (value, key) => (entries.set(key, value), answer(key)),
    delete: (key) => (entries.delete(key), answer(undefined)),
    clear: () => (entries.clear(), answer(undefined)),
  };
  return { transaction: () => ({ objectStore: () => store }), close() {} };
}

const openDatabase = IDBFactory.prototype.open;
IDBFactory.prototype.open = function open(name, ...rest) {
  if (!String(name).startsWith("IDBMap/")) return openDatabase.call(this, name, ...rest);
  const inMemory = (request) => request.onsuccess && request.onsuccess({ target: { result: memoryDatabase() } });
  let request;
  try {
    request = openDatabase.call(this, name, ...rest);
  } catch {
    const refused = {}; // refused at once: PyScript sets its handlers on this, and gets memory
    queueMicrotask(() => inMemory(refused));
    return refused;
  }
  let onerror = null; // PyScript's handler, never called: it would throw (see above)
  Object.defineProperty(request, "onerror", { configurable: true, get: () => onerror, set: (f) => { onerror = f; } });
  request.addEventListener("error", (event) => {
    event.preventDefault();
    console.warn(`IndexedDB refused ${name}; PyScript keeps it in memory.`, request.error);
    inMemory(request);
  });
  return request;
};

const loading = () => root.dataset.appState === "loading";

function fail(message) {
  if (!loading()) return;
  root.dataset.appState = "error";
  box.classList.add("failed");
  box.setAttribute("role", "alert");
  status.textContent = t("The page could not start: {message}", { message });
}

addEventListener("py:progress", (event) => {
  if (loading()) status.textContent = PROGRESS[String(event.detail)] ?? `${String(event.detail)}…`;
});

// PyScript reports boot and Python errors as a .py-error element in the body.
new MutationObserver((records) => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.nodeType === 1 && (node.matches(".py-error") || node.querySelector(".py-error"))) {
        const text = (node.textContent || "").trim().split("\n").filter(Boolean).pop() || t("Python error");
        fail(text.slice(0, 500));
      }
    }
  }
}).observe(document.documentElement, { childList: true, subtree: true });

addEventListener("error", (event) => fail(event.message || t("script error")));
addEventListener("unhandledrejection", (event) => fail(String(event.reason && event.reason.message || event.reason)));

// The way out when the page cannot start (its own stored data may be what breaks it): remove this
// page's keys (session_* and pychat:*, in localStorage and sessionStorage), its IndexedDB
// databases (pychat*), its service worker and that worker's and the snapshot's caches, nothing
// of other code, then reload. Plain JavaScript: it works without Python. Without the worker's
// removal, the reloaded page would still be the worker's, and open offline from its old copy.
const OWN_KEY = /^(?:session_|pychat:)/;
const OWN_DATABASE = /^pychat/;
// sw.js's, static/pyodide-snapshot.mjs's, and static/runtime-fetch.mjs's staging cache
const OWN_CACHE = /^pychat-(?:offline-.|pyodide-snapshot$|runtime-staged$)/;
const SCOPE = new URL("../", import.meta.url).href; // as static/offline.js registers it
const WORKER = new URL("../sw.js", import.meta.url).href;

const settled = (promises, ms = 2000) =>
  Promise.race([Promise.allSettled(promises), new Promise((done) => setTimeout(done, ms))]);

// This page's worker registration only: its scope, its script (another one of the same origin stays).
async function unregisterWorker() {
  const container = navigator.serviceWorker;
  if (!container) return;
  const own = (registration) => registration.scope === SCOPE
    && [registration.active, registration.waiting, registration.installing].some((worker) => worker?.scriptURL === WORKER);
  const registrations = (await container.getRegistrations()).filter(own);
  // Longer than the rest: the removal waits for a new version's install (the browser may have begun
  // one as this page loaded), and until it is done that worker could still fill a cache.
  await settled(registrations.map((registration) => registration.unregister()), 15000);
}

async function deleteCaches() {
  if (!globalThis.caches) return; // an insecure origin: no Cache Storage, no worker
  const names = (await caches.keys()).filter((name) => OWN_CACHE.test(name));
  await settled(names.map((name) => caches.delete(name)));
}

async function resetPageData() {
  for (const area of ["localStorage", "sessionStorage"]) {
    try {
      const store = globalThis[area];
      for (const key of Object.keys(store)) if (OWN_KEY.test(key)) store.removeItem(key);
    } catch {
      // blocked: nothing of ours is in it
    }
  }
  try {
    const databases = (await indexedDB.databases()).filter(({ name }) => name && OWN_DATABASE.test(name));
    const deleted = databases.map(({ name }) => new Promise((done) => {
      const request = indexedDB.deleteDatabase(name);
      request.onsuccess = request.onerror = request.onblocked = () => done();
    }));
    await settled(deleted);
  } catch {
    // no IndexedDB, or blocked: nothing to delete
  }
  try {
    await unregisterWorker(); // first: a worker still registered could fill a cache again
  } catch {
    // blocked, or no worker: nothing to remove
  }
  try {
    await deleteCaches();
  } catch {
    // blocked: nothing of ours is cached
  }
  location.reload();
}

const resetArea = document.getElementById("reset-area");
const offerReset = () => { resetArea.hidden = false; };
document.getElementById("reset-page-data").addEventListener("click", (event) => {
  event.currentTarget.disabled = true;
  resetPageData();
});
// Offered once the page is in its error state, whoever set it (fail() here, or Python's show_fatal),
// and after a start that has taken far too long.
new MutationObserver(() => {
  if (root.dataset.appState === "error") offerReset();
  else if (!loading()) resetArea.hidden = true; // a slow start that got there after all
}).observe(root, { attributes: true, attributeFilter: ["data-app-state"] });
setTimeout(() => { if (loading()) offerReset(); }, 45000);
