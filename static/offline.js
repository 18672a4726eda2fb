// Installs the page's service worker (../sw.js) once the page is ready, and offers "Reload to
// update" when a new version of the page is waiting. Never on the start-up path: nothing happens
// before <html data-app-state> leaves "loading" and the browser is idle.
//
// <html data-offline> says how it went, for tests and the curious:
//   off       no service worker here (an insecure origin, no Cache Storage, or data-offline="off")
//   installing / ready   the worker is being set up / holds everything the page needs offline
//   failed    it could not be installed (the page works as before, only not offline)
//   update    a newer version is waiting: the "Reload to update" notice is shown
import { dropStaged, forgetStaged, staged } from "./runtime-fetch.mjs";

const root = document.documentElement;
const container = navigator.serviceWorker;
const enabled = root.dataset.offline !== "off" && globalThis.isSecureContext === true && !!container && !!globalThis.caches;
const VERSION = document.querySelector('meta[name="pychat-version"]')?.content || "";
const notice = document.getElementById("update-notice");
let reloading = false;

const state = (value) => { root.dataset.offline = value; };

// One question to a worker, answered on a port of its own.
function ask(worker, message, ms = 60000) {
  return new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => reject(new Error("the service worker did not answer")), ms);
    channel.port1.onmessage = ({ data }) => { clearTimeout(timer); resolve(data); };
    worker.postMessage(message, [channel.port2]);
  });
}

// "Reload to update": the waiting worker takes over, then the page reloads under it. The reload
// comes whatever happens to that worker: it takes over (controllerchange, or its state says so),
// it is replaced by a newer one (redundant), or nothing is heard within a few seconds (this tab's
// view of the registration can lag behind another tab's update). A reload is never a mixed
// version: the page and its files come from the network first, and a page that is the waiting
// worker's version lets it take over at once (consider() below).
//
// A reload made before the take-over goes to the worker being replaced, and Chromium can leave
// that navigation hanging when the worker stops under it: so the take-over reloads again, and a
// reload that has not left this page after a while is made again, a few times at most.
const TAKE_OVER_MS = 5000;
const RELOAD_AGAIN_MS = 10000;
const RELOADS = 3;

function reloadToUpdate(registration) {
  let reloads = 0;
  let again = 0;
  let tookOver = false;
  const reload = () => {
    if (reloads >= RELOADS) return;
    reloads += 1;
    clearTimeout(again);
    again = setTimeout(reload, RELOAD_AGAIN_MS);
    location.reload();
  };
  const waiting = registration.waiting;
  if (!waiting || waiting.state !== "installed") return reload();
  const takeOver = () => {
    if (tookOver) return;
    tookOver = true;
    reload();
  };
  container.addEventListener("controllerchange", takeOver, { once: true });
  waiting.addEventListener("statechange", () => {
    if (waiting.state === "activated" || waiting.state === "redundant") takeOver();
  });
  setTimeout(() => { if (!tookOver && reloads === 0) reload(); }, TAKE_OVER_MS);
  waiting.postMessage({ type: "skip-waiting" });
}

function offerUpdate(registration) {
  if (reloading) return;
  state("update");
  notice.hidden = false;
  notice.querySelector("button").onclick = (event) => {
    event.currentTarget.disabled = true;
    reloading = true;
    reloadToUpdate(registration);
  };
}

// A worker that finished installing while this page has one already: a new deploy. If this page
// is that version (it was loaded from the network after the deploy), the worker may take over at
// once; otherwise this page is older than the worker, and the user is offered the new version.
async function consider(registration, worker) {
  if (!container.controller || worker !== registration.waiting) return;
  try {
    const { version } = await ask(worker, { type: "version" });
    if (version && version === VERSION) worker.postMessage({ type: "skip-waiting" });
    else offerUpdate(registration);
  } catch (error) {
    console.warn("Service worker: no answer from the new version;", error);
  }
}

function watch(registration) {
  const follow = (worker) => {
    if (!worker) return;
    if (worker.state === "installed") consider(registration, worker);
    else worker.addEventListener("statechange", () => { if (worker.state === "installed") consider(registration, worker); });
  };
  follow(registration.waiting);
  follow(registration.installing);
  registration.addEventListener("updatefound", () => follow(registration.installing));
  // Another tab took the new version: this one now runs under a worker of another version.
  container.addEventListener("controllerchange", async () => {
    if (reloading || !container.controller) return;
    try {
      const { version } = await ask(container.controller, { type: "version" });
      if (version !== VERSION) offerUpdate(registration);
    } catch {
      // no answer: nothing to offer
    }
  });
  // A tab left open for days still learns of a deploy: look again when it is shown or back online.
  const check = () => registration.update().catch(() => {});
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") check(); });
  addEventListener("online", check);
}

// What the page fetched from this site (PyScript's chunks among it): the worker keeps what it
// needs of it, copied from the browser's cache rather than downloaded again.
function fetched() {
  return performance.getEntriesByType("resource").map((entry) => entry.name).filter((name) => name.startsWith(location.origin));
}

// The runtime files a first visit decoded from their Brotli copies go into the staging cache before
// the worker installs, so that it keeps them rather than downloading the plain files again.
const STAGED_WAIT_MS = 10000;

async function install() {
  state("installing");
  try {
    await Promise.race([staged(), new Promise((resolve) => setTimeout(resolve, STAGED_WAIT_MS))]);
    const registration = await container.register(new URL("../sw.js", import.meta.url), { scope: new URL("../", import.meta.url).pathname });
    watch(registration);
    await container.ready;
    // The newest worker keeps them. Never message a worker that is being replaced: the message
    // starts it again, and Chromium holds the new worker's take-over until it has stopped.
    const newest = registration.installing || registration.waiting || registration.active;
    const answer = await ask(newest, { type: "keep", urls: fetched() });
    if (root.dataset.offline === "installing") state(answer.ok ? "ready" : "failed");
    if (!answer.ok) console.warn("Service worker: not everything is kept for offline use;", answer.error);
  } catch (error) {
    console.warn("Service worker: not installed, so the page does not open offline;", error);
    if (root.dataset.offline === "installing") state("failed");
  } finally {
    dropStaged(); // kept by the worker now (its activation empties it too), or of no use
  }
}

function whenReady(callback) {
  const settled = () => root.dataset.appState !== "loading";
  if (settled()) return callback();
  const watcher = new MutationObserver(() => {
    if (!settled()) return;
    watcher.disconnect();
    callback();
  });
  watcher.observe(root, { attributes: true, attributeFilter: ["data-app-state"] });
}

if (!enabled) state("off");
else whenReady(() => {
  if (root.dataset.appState === "ready") requestIdleCallback(install, { timeout: 3000 });
  else forgetStaged(); // no worker for a page that could not start
});
