// The page's conversations in IndexedDB: one record per conversation, one per message.
//
// app/browser.py binds app/archive.py's Archive to the functions on globalThis.pychatArchive;
// the decisions (ids, order, what a record holds, checking what is read) are Python's. Reads
// hand Python one JSON string, which it parses at C speed, instead of many JavaScript objects.
//
// Imported early by index.html: the database opens, and the catalogue and the last open
// character's current conversation are read, while Python starts. A write is one transaction,
// started when it is called (so writes land in the order they were made), and announced to the
// page's other tabs on a BroadcastChannel once it is committed.

const NAME = "pychat";
const VERSION = 1;
const CHANNEL = "pychat:archive";
const CONVERSATIONS = "conversations";
const MESSAGES = "messages";

let opening = null;
let channel = null;
try {
  channel = new BroadcastChannel(CHANNEL);
} catch {
  channel = null; // no other tab can be told; each still reads the archive when it opens a conversation
}

function open() {
  if (opening === null) {
    opening = new Promise((resolve, reject) => {
      let request;
      try {
        request = indexedDB.open(NAME, VERSION);
      } catch (error) {
        reject(error); // blocked site data, a sandboxed frame: SecurityError
        return;
      }
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(CONVERSATIONS)) db.createObjectStore(CONVERSATIONS, { keyPath: "id" });
        if (!db.objectStoreNames.contains(MESSAGES)) db.createObjectStore(MESSAGES, { keyPath: "id" });
      };
      request.onsuccess = () => {
        const db = request.result;
        db.onversionchange = () => db.close(); // a newer page version wants to upgrade: let it
        // Ask the browser not to evict the conversations under storage pressure (it may say no).
        navigator.storage?.persist?.().catch(() => {});
        resolve(db);
      };
      request.onerror = () => reject(request.error || new Error("IndexedDB could not be opened"));
      request.onblocked = () => reject(new Error("IndexedDB is held by an older version of this page in another tab"));
    });
  }
  return opening;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// A conversation's messages are the keys that start with its id and "/".
function range(conversationId) {
  return IDBKeyRange.bound(`${conversationId}/`, `${conversationId}/\uffff`);
}

async function catalog() {
  const db = await open();
  return JSON.stringify(await done(db.transaction(CONVERSATIONS).objectStore(CONVERSATIONS).getAll()));
}

async function messages(conversationId) {
  const db = await open();
  const store = db.transaction(MESSAGES).objectStore(MESSAGES);
  return JSON.stringify(await done(store.getAll(range(String(conversationId)))));
}

// change: JSON of {conversations, messages, deleteMessages, deleteConversations} (app.archive.Change).
function write(change) {
  const data = JSON.parse(change);
  early.catalog = early.messages = null; // read before this write: no longer what is stored
  return open().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction([CONVERSATIONS, MESSAGES], "readwrite");
    const conversations = tx.objectStore(CONVERSATIONS);
    const messageStore = tx.objectStore(MESSAGES);
    for (const record of data.conversations) {
      if (!record.touch) {
        conversations.put(record); // an end or a continue: the record as written
        continue;
      }
      // Its size or title changed: it keeps the "ended" stored (app.archive.touched), so writing a
      // message never brings back as current a conversation another tab ended meanwhile.
      delete record.touch;
      const stored = conversations.get(record.id);
      stored.onsuccess = () => {
        if (stored.result) record.ended = stored.result.ended;
        conversations.put(record);
      };
    }
    for (const record of data.messages) messageStore.put(record);
    for (const id of data.deleteMessages) messageStore.delete(id);
    for (const id of data.deleteConversations) {
      conversations.delete(id);
      messageStore.delete(range(id));
    }
    tx.oncomplete = () => {
      applyToSearch(data);
      channel?.postMessage(change); // other tabs update their search cache, and read what they show
      resolve();
    };
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("the write was aborted"));
  }));
}

async function clear() {
  early.catalog = early.messages = null;
  const db = await open();
  await new Promise((resolve, reject) => {
    const tx = db.transaction([CONVERSATIONS, MESSAGES], "readwrite");
    tx.objectStore(CONVERSATIONS).clear();
    tx.objectStore(MESSAGES).clear();
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
  applyToSearch(null);
  channel?.postMessage("cleared");
}

// The search cache: every message record with its text lower-cased, by id. It is read once (getAll:
// one request, not a cursor step per record) at the first search, or when the search dialog opens,
// and then kept up to date by every write, this tab's and other tabs' (they post their changes).
let searchable = null;
let searchLoading = null;
let missed = []; // changes committed while it loads (the read may or may not include them)

function prepareSearch() {
  if (searchable !== null) return Promise.resolve();
  if (searchLoading === null) {
    missed = [];
    searchLoading = open()
      .then((db) => done(db.transaction(MESSAGES).objectStore(MESSAGES).getAll()))
      .then((all) => {
        const found = new Map();
        for (const record of all) {
          if (record && typeof record.id === "string" && typeof record.text === "string") {
            found.set(record.id, { record, folded: record.text.toLowerCase() });
          }
        }
        searchable = found;
        for (const change of missed) applyToSearch(change); // puts and deletes by id: twice is once
        missed = [];
      })
      .finally(() => {
        searchLoading = null;
      });
  }
  return searchLoading;
}

// change: a parsed Change, or null when everything was cleared.
function applyToSearch(change) {
  if (searchable === null) {
    if (searchLoading !== null) missed.push(change);
    return;
  }
  if (change === null) {
    searchable.clear();
    return;
  }
  for (const id of change.deleteMessages || []) searchable.delete(id);
  const gone = new Set(change.deleteConversations || []);
  if (gone.size) {
    for (const [id, entry] of searchable) if (gone.has(entry.record.conversation)) searchable.delete(id);
  }
  for (const record of change.messages || []) {
    if (record && typeof record.id === "string" && typeof record.text === "string") {
      searchable.set(record.id, { record, folded: record.text.toLowerCase() });
    }
  }
}

// Up to `limit` message records whose text contains `text`, ignoring case, the newest first.
async function search(text, limit) {
  await prepareSearch();
  const needle = String(text).toLowerCase();
  const found = [];
  for (const entry of searchable.values()) if (entry.folded.includes(needle)) found.push(entry.record);
  found.sort((a, b) => (b.at || 0) - (a.at || 0));
  return JSON.stringify(found.slice(0, limit));
}

function onChange(callback) {
  channel?.addEventListener("message", (event) => {
    // Another tab committed a write (its Change as JSON) or cleared everything ("cleared").
    if (event.data === "cleared") {
      applyToSearch(null);
    } else {
      try {
        applyToSearch(JSON.parse(event.data));
      } catch {
        searchable = null; // not a change of ours: read everything again at the next search
      }
    }
    callback();
  });
}

// Started now, used by Python's first reads: the open character's current conversation is read
// while Python starts. A read Python makes later of something else goes to the database.
const early = { catalog: null, conversation: null, messages: null };
try {
  early.catalog = catalog();
  early.catalog.catch(() => {}); // now: the next line throws where site data is blocked
  const openId = localStorage.getItem("pychat:open");
  early.messages = early.catalog.then((text) => {
    const current = JSON.parse(text)
      .filter((r) => r && r.config_id === openId && r.ended === null)
      .sort((a, b) => b.started - a.started)[0];
    if (!current) return null;
    early.conversation = current.id;
    return messages(current.id);
  });
  early.messages.catch(() => {});
} catch {
  // localStorage blocked: Python reads what it needs itself (or finds nothing can be kept)
}

function take(kind, conversationId) {
  if (kind === "catalog" && early.catalog) {
    const promise = early.catalog;
    early.catalog = null;
    return promise;
  }
  if (kind === "messages" && early.messages && early.conversation === conversationId) {
    const promise = early.messages;
    early.messages = null;
    return promise;
  }
  return null;
}

globalThis.pychatArchive = {
  open: () => open().then(() => true),
  catalog: () => take("catalog") || catalog(),
  messages: (conversationId) => take("messages", conversationId) || messages(conversationId),
  write,
  clear,
  search,
  prepareSearch: () => prepareSearch().then(() => true),
  onChange,
};
