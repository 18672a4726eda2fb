// The page's conversations in IndexedDB: one record per conversation, one per message; and the
// drafts, one record per character.
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
const VERSION = 3; // 2: the search index (SEARCH, and META's record of it), and BY_TIME; 3: DRAFTS
const CHANNEL = "pychat:archive";
const DRAFT_CHANNEL = "pychat:drafts"; // {id, text}: a draft another tab committed (text null: none)
const CONVERSATIONS = "conversations";
const MESSAGES = "messages";
const SEARCH = "search"; // the search index: blocks of lower-cased texts (see "search" below)
const META = "meta";
const DRAFTS = "drafts"; // {id: config_id, text}: what is typed in the composer (app/drafts.py)
const BY_TIME = "by-time"; // MESSAGES's index on [conversation, at]
const SEARCH_INDEX = "search-index"; // META's record: {complete: true} once every message is indexed

let opening = null;
let channel = null;
let draftChannel = null;
try {
  channel = new BroadcastChannel(CHANNEL);
  draftChannel = new BroadcastChannel(DRAFT_CHANNEL);
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
      request.onupgradeneeded = (event) => {
        const db = request.result;
        for (const name of [CONVERSATIONS, MESSAGES, SEARCH, META, DRAFTS]) {
          if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, { keyPath: "id" });
        }
        // A conversation's messages in the order shown (time, then id): its newest are read first.
        const messageStore = request.transaction.objectStore(MESSAGES);
        if (!messageStore.indexNames.contains(BY_TIME)) messageStore.createIndex(BY_TIME, ["conversation", "at"]);
        // A new database is indexed from the start; one of version 1 has messages to index first
        // (buildSearchIndex, at the first search).
        if (event.oldVersion === 0) request.transaction.objectStore(META).put({ id: SEARCH_INDEX, complete: true });
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

// The newest `count` messages of a conversation (by time, then id), and how many it has in all:
// JSON of {total, messages}. A conversation opens with these; the rest is read after.
async function newest(conversationId, count) {
  const db = await open();
  const store = db.transaction(MESSAGES).objectStore(MESSAGES);
  const id = String(conversationId);
  const total = done(store.count(range(id)));
  const found = [];
  const request = store.index(BY_TIME).openCursor(IDBKeyRange.bound([id, -Infinity], [id, Infinity]), "prev");
  for (let cursor = await step(request); cursor && found.length < count; cursor = await step(request, cursor)) {
    found.push(cursor.value);
  }
  return JSON.stringify({ total: await total, messages: found.reverse() });
}

// change: JSON of {conversations, messages, deleteMessages, deleteConversations} (app.archive.Change).
function write(change) {
  const data = JSON.parse(change);
  early.catalog = early.messages = null; // read before this write: no longer what is stored
  return open().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction([CONVERSATIONS, MESSAGES, SEARCH, META], "readwrite");
    const conversations = tx.objectStore(CONVERSATIONS);
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
    for (const id of data.deleteConversations) conversations.delete(id); // its messages: writeMessages
    let indexed = null; // the search blocks this write changed, for this tab's search cache
    writeMessages(tx, data).then((blocks) => {
      indexed = blocks;
    }, (error) => {
      try {
        tx.abort();
      } catch {
        // already finished: its own error is reported
      }
      reject(error);
    });
    tx.oncomplete = () => {
      applyToSearch(indexed);
      channel?.postMessage(change); // other tabs drop their search cache, and read what they show
      resolve();
    };
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("the write was aborted"));
  }));
}

// The messages of a write, and the search index kept with them in the same transaction. Every step
// is an IndexedDB request awaited in the transaction's own callbacks, so it stays active throughout.
async function writeMessages(tx, data) {
  const messageStore = tx.objectStore(MESSAGES);
  const index = await searchIndexOf(tx);
  if (index === null) {
    // Not indexed yet (a database of the release before): buildSearchIndex indexes everything later.
    for (const record of data.messages) messageStore.put(record);
    for (const id of data.deleteMessages) messageStore.delete(id);
    for (const id of data.deleteConversations) messageStore.delete(range(id));
    for (const id of data.deleteConversations) tx.objectStore(SEARCH).delete(range(id));
    return null;
  }
  const puts = data.messages.filter((r) => r && typeof r.id === "string" && conversationOf(r.id) !== null);
  // Which ones are stored already (so their entry is replaced, not added): one request each, all at once.
  const stored = await Promise.all(puts.map((r) => done(messageStore.getKey(r.id))));
  for (const record of data.messages) messageStore.put(record);
  const written = new Set();
  for (let i = 0; i < puts.length; i++) {
    const record = puts[i];
    const known = stored[i] !== undefined || written.has(record.id);
    written.add(record.id);
    await index.put(record, known);
  }
  for (const id of data.deleteMessages) {
    messageStore.delete(id);
    if (typeof id === "string" && conversationOf(id) !== null) await index.remove(id);
  }
  for (const id of data.deleteConversations) {
    messageStore.delete(range(id));
    index.dropConversation(id);
  }
  return index.finish();
}

async function clear() {
  early.catalog = early.messages = null;
  const db = await open();
  await new Promise((resolve, reject) => {
    const tx = db.transaction([CONVERSATIONS, MESSAGES, SEARCH], "readwrite");
    tx.objectStore(CONVERSATIONS).clear();
    tx.objectStore(MESSAGES).clear();
    tx.objectStore(SEARCH).clear(); // the index stays complete: it indexes nothing, as nothing is stored
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
  applyToSearch("cleared");
  channel?.postMessage("cleared");
}

// ----- drafts ----------------------------------------------------------------------------------
//
// Every draft is read once, at start (a few records); app/drafts.py keeps them in memory and writes
// each change here, and notes in localStorage what is not committed when the page hides.

async function drafts() {
  const db = await open();
  return JSON.stringify(await done(db.transaction(DRAFTS).objectStore(DRAFTS).getAll()));
}

// A character's draft is now `text` (null, or not a string: it has none). Announced once committed.
function putDraft(configId, text) {
  const id = String(configId);
  const kept = typeof text === "string" && text !== "" ? text : null;
  early.drafts = null; // read before this write: no longer what is stored
  return open().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(DRAFTS, "readwrite");
    if (kept === null) tx.objectStore(DRAFTS).delete(id);
    else tx.objectStore(DRAFTS).put({ id, text: kept });
    tx.oncomplete = () => {
      draftChannel?.postMessage({ id, text: kept });
      resolve();
    };
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("the write was aborted"));
  }));
}

function onDraft(callback) {
  draftChannel?.addEventListener("message", (event) => {
    const data = event.data; // from a tab of this page, but checked all the same
    if (data && typeof data.id === "string") callback(data.id, typeof data.text === "string" ? data.text : null);
  });
}

// ----- search ----------------------------------------------------------------------------------
//
// Reading 50,000 message records takes half a second or more (each is an object the browser
// decodes), so the first search would be slow. The archive keeps, beside the messages, a search
// index: per conversation, blocks of up to BLOCK_ENTRIES messages, each one record holding the
// messages' ids and lower-cased texts as two strings joined by SEPARATOR, and their times as a
// Float64Array. 50,000 messages are about 200 records: read in tens of milliseconds. Each write
// changes the index in its own transaction (a new message goes into its conversation's last
// block), so a write costs one block, not the conversation, and the index never disagrees with
// what is stored. Search reads the blocks once, when the dialog opens, keeps them, and finds
// matches with indexOf over each block's text; only the matching messages' records are read.

const SEPARATOR = "\u0000"; // in no id of ours; in a text it is searched as a space
const BLOCK_ENTRIES = 256;
const BLOCK_CHARS = 256 * 1024; // a block past this takes no more messages (a 1 MiB reply is one block)

function conversationOf(messageId) {
  const slash = messageId.indexOf("/");
  return slash > 0 && !messageId.includes(SEPARATOR) ? messageId.slice(0, slash) : null;
}

function fold(text) {
  return String(text).toLowerCase().replaceAll(SEPARATOR, " ");
}

function blockId(conversationId, n) {
  return `${conversationId}/${String(n).padStart(6, "0")}`;
}

// A stored block as arrays, to change it.
function unpack(block) {
  const count = block.count;
  return {
    id: block.id, conversation: block.conversation, n: block.n,
    ids: count ? block.ids.split(SEPARATOR) : [],
    folded: count ? block.folded.split(SEPARATOR) : [],
    at: Array.from(block.at || []),
    chars: block.folded.length,
  };
}

function pack(block) {
  const folded = block.folded.join(SEPARATOR);
  return {
    id: block.id, conversation: block.conversation, n: block.n, count: block.ids.length,
    ids: block.ids.join(SEPARATOR), folded, at: Float64Array.from(block.at),
  };
}

function blocksOf(messages) {
  // Every message of every conversation, in blocks (an index built at once): {conversation: [blocks]}.
  const byConversation = new Map();
  for (const record of messages) {
    if (!record || typeof record.id !== "string" || typeof record.text !== "string") continue;
    const conversation = conversationOf(record.id);
    if (conversation === null) continue;
    if (!byConversation.has(conversation)) byConversation.set(conversation, []);
    byConversation.get(conversation).push(record);
  }
  const blocks = [];
  for (const [conversation, records] of byConversation) {
    records.sort((a, b) => (a.at || 0) - (b.at || 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let block = null;
    for (const record of records) {
      const folded = fold(record.text);
      if (block === null || block.ids.length >= BLOCK_ENTRIES || block.chars + folded.length > BLOCK_CHARS) {
        const n = block === null ? 0 : block.n + 1;
        block = { id: blockId(conversation, n), conversation, n, ids: [], folded: [], at: [], chars: 0 };
        blocks.push(block);
      }
      block.ids.push(record.id);
      block.folded.push(folded);
      block.at.push(Number(record.at) || 0);
      block.chars += folded.length + 1;
    }
  }
  return blocks.map(pack);
}

// The index as one write transaction changes it: null when the archive is not indexed yet.
async function searchIndexOf(tx) {
  if (!indexComplete) {
    const meta = await done(tx.objectStore(META).get(SEARCH_INDEX));
    if (!(meta && meta.complete === true)) return null;
    indexComplete = true; // once complete, it stays so (a clear empties it, complete)
  }
  const store = tx.objectStore(SEARCH);
  const loaded = new Map(); // block id -> the block unpacked, one copy per block for the whole write
  const created = []; // blocks this write starts (not in the store yet)
  const changed = new Set(); // ids of the blocks this write changes
  const dropped = new Set(); // conversations deleted by this write
  const last = new Map(); // conversation -> its newest block, once looked up (null: it has none)

  // The blocks of a conversation, the ones this write starts first, then the stored ones from the
  // newest, until `visit` returns true. The cursor is continued in its own callbacks.
  async function walk(conversation, visit) {
    for (const block of created) if (block.conversation === conversation && visit(block)) return;
    const request = store.openCursor(range(conversation), "prev");
    for (let cursor = await step(request); cursor; cursor = await step(request, cursor)) {
      const id = cursor.value.id;
      if (!loaded.has(id)) loaded.set(id, unpack(cursor.value));
      if (visit(loaded.get(id))) return;
    }
  }

  async function lastBlock(conversation) {
    if (!last.has(conversation)) {
      let found = null;
      await walk(conversation, (block) => {
        found = block;
        return true;
      });
      last.set(conversation, found);
    }
    return last.get(conversation);
  }

  async function find(id) {
    let found = null;
    await walk(conversationOf(id), (block) => {
      const at = block.ids.indexOf(id);
      if (at >= 0) found = { block, at };
      return at >= 0;
    });
    return found;
  }

  return {
    async put(record, known) {
      if (typeof record.text !== "string") return;
      const conversation = conversationOf(record.id);
      const folded = fold(record.text);
      const entry = known ? await find(record.id) : null;
      if (entry !== null) {
        const { block, at } = entry;
        block.chars += folded.length - block.folded[at].length;
        block.folded[at] = folded;
        block.at[at] = Number(record.at) || 0;
        changed.add(block.id);
        return;
      }
      let block = await lastBlock(conversation);
      if (block === null || block.ids.length >= BLOCK_ENTRIES || block.chars + folded.length > BLOCK_CHARS) {
        const n = block === null ? 0 : block.n + 1;
        block = { id: blockId(conversation, n), conversation, n, ids: [], folded: [], at: [], chars: 0 };
        created.unshift(block); // the newest first, as walk visits them
        loaded.set(block.id, block);
        last.set(conversation, block);
      }
      block.ids.push(record.id);
      block.folded.push(folded);
      block.at.push(Number(record.at) || 0);
      block.chars += folded.length + 1;
      changed.add(block.id);
    },
    async remove(id) {
      const entry = await find(id);
      if (entry === null) return;
      const { block, at } = entry;
      block.chars -= block.folded[at].length + 1;
      block.ids.splice(at, 1);
      block.folded.splice(at, 1);
      block.at.splice(at, 1);
      changed.add(block.id);
    },
    dropConversation(conversation) {
      for (const [id, block] of loaded) {
        if (block.conversation !== conversation) continue;
        loaded.delete(id);
        changed.delete(id);
      }
      for (let i = created.length - 1; i >= 0; i--) if (created[i].conversation === conversation) created.splice(i, 1);
      last.delete(conversation);
      dropped.add(conversation);
      store.delete(range(conversation));
    },
    finish() {
      const put = [];
      const deleted = [];
      for (const id of changed) {
        const block = loaded.get(id);
        if (block.ids.length) {
          const packed = pack(block);
          store.put(packed);
          put.push(packed);
        } else {
          store.delete(block.id); // emptied: a later message starts the conversation's next block
          deleted.push(block.id);
        }
      }
      return { put, deleted, dropped: [...dropped] };
    },
  };
}

// The next cursor position (the first when `cursor` is not given), awaited in the request's callback.
function step(request, cursor) {
  const next = new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  if (cursor) cursor.continue();
  return next;
}

// Index every stored message, once: a database of the release before has messages and no index.
// One transaction over the messages, so no write lands between the read and the index.
async function buildSearchIndex(db) {
  if (indexComplete) return;
  const meta = await done(db.transaction(META).objectStore(META).get(SEARCH_INDEX));
  if (meta && meta.complete === true) {
    indexComplete = true;
    return;
  }
  await new Promise((resolve, reject) => {
    const tx = db.transaction([MESSAGES, SEARCH, META], "readwrite");
    const again = tx.objectStore(META).get(SEARCH_INDEX);
    again.onsuccess = () => {
      if (again.result && again.result.complete === true) return; // another tab built it meanwhile
      const all = tx.objectStore(MESSAGES).getAll();
      all.onsuccess = () => {
        const store = tx.objectStore(SEARCH);
        store.clear();
        for (const block of blocksOf(all.result)) store.put(block);
        tx.objectStore(META).put({ id: SEARCH_INDEX, complete: true });
      };
    };
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("the search index could not be built"));
  });
  indexComplete = true;
}

let indexComplete = false;

// This tab's copy of the index: block id -> block (as stored, plus what a search worked out from it).
// Read when the search dialog opens (or at the first search), kept up to date by this tab's writes,
// and dropped when another tab writes (the next search reads it again).
let searchable = null;
let searchLoading = null;
let searchGeneration = 0; // counts other tabs' writes: a read begun before one is read again
let missed = []; // this tab's writes committed while it loads (the read may or may not have them)

function prepareSearch() {
  if (searchable !== null) return Promise.resolve();
  if (searchLoading === null) {
    const generation = searchGeneration;
    missed = [];
    searchLoading = open()
      .then(async (db) => {
        await buildSearchIndex(db);
        return done(db.transaction(SEARCH).objectStore(SEARCH).getAll());
      })
      .then((all) => {
        searchLoading = null;
        if (generation !== searchGeneration) return prepareSearch(); // another tab wrote meanwhile
        searchable = new Map();
        for (const block of all) if (block && typeof block.folded === "string") searchable.set(block.id, block);
        for (const change of missed) applyToSearch(change); // whole blocks by id: twice is once
        missed = [];
        return undefined;
      }, (error) => {
        searchLoading = null;
        throw error;
      });
  }
  return searchLoading;
}

// indexed: what this tab's write did to the index ({put, deleted, dropped}), "cleared", or null.
function applyToSearch(indexed) {
  if (indexed === null) {
    searchable = null; // a write made without the index (not built yet): read it all at the next search
    return;
  }
  if (searchable === null) {
    if (searchLoading !== null) missed.push(indexed);
    return;
  }
  if (indexed === "cleared") {
    searchable.clear();
    return;
  }
  for (const conversation of indexed.dropped) {
    for (const [id, block] of searchable) if (block.conversation === conversation) searchable.delete(id);
  }
  for (const id of indexed.deleted) searchable.delete(id);
  for (const block of indexed.put) searchable.set(block.id, block);
}

function otherTabWrote() {
  searchGeneration += 1;
  searchable = null;
}

// Where each message of a block starts in its folded text (worked out once per block read).
function startsOf(block) {
  if (!block.starts) {
    const starts = new Int32Array(block.count);
    let at = 0;
    for (let i = 0; i < block.count; i++) {
      starts[i] = at;
      const end = block.folded.indexOf(SEPARATOR, at);
      at = end < 0 ? block.folded.length + 1 : end + 1;
    }
    block.starts = starts;
  }
  return block.starts;
}

function entryAt(starts, position) {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (starts[middle] <= position) low = middle;
    else high = middle - 1;
  }
  return low;
}

// Up to `limit` message records whose text contains `text`, ignoring case, the newest first.
async function search(text, limit) {
  await prepareSearch();
  const needle = fold(text);
  const hits = [];
  for (const block of searchable.values()) {
    const folded = block.folded;
    let position = block.count ? folded.indexOf(needle) : -1;
    if (position < 0) continue;
    const starts = startsOf(block);
    if (!block.idList) block.idList = block.ids.split(SEPARATOR);
    while (position >= 0) {
      const i = entryAt(starts, position);
      hits.push({ at: block.at[i], id: block.idList[i] });
      position = i + 1 < starts.length ? folded.indexOf(needle, starts[i + 1]) : -1;
    }
  }
  hits.sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const wanted = hits.slice(0, limit);
  if (!wanted.length) return "[]";
  const db = await open();
  const store = db.transaction(MESSAGES).objectStore(MESSAGES);
  const records = await Promise.all(wanted.map((hit) => done(store.get(hit.id))));
  return JSON.stringify(records.filter((r) => r && typeof r.text === "string"));
}

function onChange(callback) {
  channel?.addEventListener("message", (event) => {
    // Another tab committed a write (its Change as JSON) or cleared everything ("cleared").
    otherTabWrote(); // its index changed too: read at this tab's next search
    callback();
  });
}

// Started now, used by Python's first reads: the open character's current conversation is read
// while Python starts. A read Python makes later of something else goes to the database.
const early = { catalog: null, conversation: null, kind: null, messages: null, drafts: null };
const NEWEST_FIRST = 100; // app.conversations.NEWEST_FIRST: a long conversation opens with its newest
early.drafts = drafts();
early.drafts.catch(() => {});
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
    // As app.conversations reads it: a long conversation's newest first, a short one whole.
    early.kind = current.count > NEWEST_FIRST ? "newest" : "messages";
    return early.kind === "newest" ? newest(current.id, NEWEST_FIRST) : messages(current.id);
  });
  early.messages.catch(() => {});
} catch {
  // localStorage blocked: Python reads what it needs itself (or finds nothing can be kept)
}

function take(kind, conversationId) {
  if (kind === "drafts" && early.drafts) {
    const promise = early.drafts;
    early.drafts = null;
    return promise;
  }
  if (kind === "catalog" && early.catalog) {
    const promise = early.catalog;
    early.catalog = null;
    return promise;
  }
  if (early.messages && early.kind === kind && early.conversation === conversationId) {
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
  newest: (conversationId, count) => (count === NEWEST_FIRST && take("newest", conversationId)) || newest(conversationId, count),
  write,
  clear,
  drafts: () => take("drafts") || drafts(),
  putDraft,
  onDraft,
  search,
  prepareSearch: () => prepareSearch().then(() => true),
  onChange,
};
