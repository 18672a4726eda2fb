// The page's service worker: it lets a visitor who has been once open the page with no network.
//
// serve.py (and its export) fill in the BUILD line below (serving/offline.py): this build's
// version, the files the page needs to start (relative to this file, which sits in the page's
// folder, so the scope is that folder on any host, under a sub-path too) and the version-named
// runtime folders. Any change to a listed file changes the version, so the browser sees a new
// worker on the page's next load; static/offline.js then offers "Reload to update".
//
// Answering:
//   the page         network first (navigation preload), the cached copy only when that fails:
//                    a deploy is seen on the next load, never hidden behind an old copy
//   app, static,     for a page that is this build's (the version in its <meta name=pychat-version>,
//   config, zips     read from the page as it passes through here, is BUILD.version): from this
//                    build's cache, with no request, since every file in it was checked against
//                    this build's digest; for any other page (a new deploy, a page loaded before
//                    this worker) network first, a revalidation as without a worker, the cached copy
//                    only when the network fails: the files always match the page
//   runtime/<name>-<version>/   cache first: the URL names the content; cached on first use
//   anything else    not answered here at all: /api/*, the proxy (any origin), POSTs, queries
//
// The cache is "pychat-offline-<version>"; activating removes older "pychat-offline-*" caches
// and the page's staged copies ("pychat-runtime-staged", now in this cache), and nothing else
// (the Pyodide snapshot lives in "pychat-pyodide-snapshot").
const BUILD = {"version": "dev", "files": [], "immutable": [], "integrity": {}};

const PREFIX = "pychat-offline-";
// The runtime files a first visit decoded from their Brotli copies (static/runtime-fetch.mjs).
const STAGED = "pychat-runtime-staged";
// What only a page no worker answers for fetches: the Brotli copies and their decoder. Never kept.
const FIRST_VISIT_ONLY = (path) => path.endsWith(".br") || path.startsWith("runtime/brotli-dec-wasm-");
const CACHE = PREFIX + BUILD.version;
const SCOPE = new URL("./", self.location.href);
const FILES = new Set(BUILD.files);

// The path of a same-origin URL inside the scope ("" for the page's folder), else null.
function inScope(url) {
  if (url.origin !== SCOPE.origin || !url.pathname.startsWith(SCOPE.pathname)) return null;
  return url.pathname.slice(SCOPE.pathname.length);
}

// Whether each page (by client id) is this build's: read from its HTML as it passes through here.
// A page not listed (loaded before this worker, or the worker restarted since) counts as not.
const pageIsThisBuild = new Map();
const PAGES_KEPT = 64;
const VERSION_META = /<meta\s+name="pychat-version"\s+content="([^"]*)"/;

function notePage(clientId, response) {
  if (!clientId) return;
  const same = response.ok
    ? response.clone().text().then((html) => VERSION_META.exec(html)?.[1] === BUILD.version, () => false)
    : Promise.resolve(false);
  pageIsThisBuild.set(clientId, same);
  if (pageIsThisBuild.size > PAGES_KEPT) pageIsThisBuild.delete(pageIsThisBuild.keys().next().value);
}

async function fromThisBuild(request, key, clientId) {
  if (BUILD.version !== "dev" && (await pageIsThisBuild.get(clientId))) {
    const cached = await caches.match(key, { cacheName: CACHE });
    if (cached) return cached;
  }
  return networkFirst(request, key);
}

const immutable = (path) => BUILD.immutable.some((prefix) => path.startsWith(prefix));
const neverCached = (path) => path === "api" || path.startsWith("api/") || path === "sw.js";

// Copies a version-named file from an older version's cache when there is one (no download at
// all), else takes the copy the page decoded from its Brotli copy, or the one the page's own
// visit left in the browser's HTTP cache, when it is certainly this build's, else downloads it.
// So the cache holds this build's files and no other's, which is what lets a page of this build
// take them from it without asking (fromThisBuild).
async function keep(cache, path) {
  const url = new URL(path, SCOPE).href;
  if (await cache.match(url)) return;
  if (immutable(path)) {
    for (const name of await caches.keys()) {
      if (!name.startsWith(PREFIX) || name === CACHE) continue;
      const old = await (await caches.open(name)).match(url);
      if (old) return cache.put(url, old);
    }
  }
  const staged = await fromStaged(url, path);
  if (staged) return cache.put(url, staged);
  // A download must be this build's too (its digest, where there is one): a deploy landing during
  // the install fails it, and the next load installs the new build's worker instead.
  const integrity = BUILD.integrity?.[path];
  const response = (await fromBrowserCache(url, path))
    || (await fetch(url, { credentials: "same-origin", ...(integrity ? { integrity } : {}) }));
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  await cache.put(url, response);
}

// The HTTP cache's copy, whatever the host's cache headers say ("force-cache": a host that sends
// "no-cache" would otherwise have the whole runtime downloaded again), but only where it cannot be
// another build's: a version-named file, or one whose bytes match this build's digest (BUILD.integrity;
// a copy from before a deploy fails the check). Null when there is none such.
async function fromBrowserCache(url, path) {
  const integrity = BUILD.integrity?.[path];
  if (!integrity && !immutable(path)) return null;
  try {
    const response = await fetch(url, { credentials: "same-origin", cache: "force-cache", ...(integrity ? { integrity } : {}) });
    return response.ok ? response : null;
  } catch {
    return null; // not this build's bytes: downloaded below
  }
}

// The page's decoded copy, on the same terms as the HTTP cache's: version-named, or this build's bytes.
async function fromStaged(url, path) {
  try {
    const staged = await caches.match(url, { cacheName: STAGED });
    if (!staged?.ok) return null;
    const integrity = BUILD.integrity?.[path];
    if (integrity) return (await digestOf(staged.clone())) === integrity ? staged : null;
    return immutable(path) ? staged : null;
  } catch {
    return null;
  }
}

async function digestOf(response) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await response.arrayBuffer()));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return `sha256-${btoa(binary)}`;
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await Promise.all(BUILD.files.map((path) => keep(cache, path)));
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
    for (const name of await caches.keys()) {
      if ((name.startsWith(PREFIX) && name !== CACHE) || name === STAGED) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  const { data } = event;
  const reply = (answer) => event.ports[0] && event.ports[0].postMessage(answer);
  if (!data || typeof data !== "object") return;
  if (data.type === "version") reply({ version: BUILD.version });
  else if (data.type === "skip-waiting") self.skipWaiting();
  else if (data.type === "keep") {
    // The runtime files the page fetched (PyScript's chunks): kept if under a version-named folder.
    const paths = (Array.isArray(data.urls) ? data.urls : [])
      .map((href) => { try { return inScope(new URL(href)); } catch { return null; } })
      .filter((path) => path && immutable(path) && !path.includes("?") && !FIRST_VISIT_ONLY(path));
    event.waitUntil((async () => {
      try {
        const cache = await caches.open(CACHE);
        await Promise.all([...new Set(paths)].map((path) => keep(cache, path)));
        reply({ ok: true, version: BUILD.version });
      } catch (error) {
        reply({ ok: false, version: BUILD.version, error: String(error && error.message || error) });
      }
    })());
  }
});

async function networkFirst(request, key, preload) {
  try {
    const response = (await preload) || (await fetch(request));
    if (response.ok || response.type === "opaqueredirect") return response;
    const cached = await caches.match(key, { cacheName: CACHE });
    return cached || response;
  } catch (error) {
    const cached = await caches.match(key, { cacheName: CACHE });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request, key) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(key);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") cache.put(key, response.clone()).catch(() => {});
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  const path = inScope(url);
  if (path === null || neverCached(path)) return;
  if (request.mode === "navigate") {
    if (path !== "" && path !== "index.html") return;
    event.respondWith(networkFirst(request, new URL("./", SCOPE).href, event.preloadResponse).then((response) => {
      notePage(event.resultingClientId, response);
      return response;
    }));
    return;
  }
  if (url.search) return;
  if (immutable(path)) event.respondWith(cacheFirst(request, url.href));
  else if (FILES.has(path)) event.respondWith(fromThisBuild(request, url.href, event.clientId));
});
