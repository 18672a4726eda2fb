// The same minimal job in plain JavaScript: read one session key; send a message and render the reply.
// A streamed reply (text/event-stream, the AI SDK UI message stream) is read with fetch and each
// text delta appended to a <div> as it arrives, as simply as JavaScript can.
const api = new URLSearchParams(location.search).get("api") || "http://localhost:3000";
const key = "session_CHAR_luna";
document.getElementById("out").textContent = `session: ${localStorage.getItem(key)}`;
document.documentElement.dataset.appState = "ready";

async function session() {
  const known = localStorage.getItem(key);
  if (known) return known;
  const response = await fetch(`${api}/api/sessions`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({config_id: "CHAR_luna"}),
  });
  const id = (await response.json()).session_id;
  localStorage.setItem(key, id);
  return id;
}

async function stream(response, item) {
  const reply = document.createElement("div");
  reply.dataset.role = "assistant";
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    // The same mark as the chat page's reader (app/browser.py), for the benchmark.
    if (globalThis.__chatStreamMarks) performance.mark("chat:stream-chunk", {detail: value});
    const events = (rest + value).split("\n\n");
    rest = events.pop();
    for (const event of events) {
      if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
      const part = JSON.parse(event.slice(6));
      if (part.type !== "text-delta") continue;
      if (!reply.isConnected) {
        item.append(reply);
        document.getElementById("messages").append(item);
      }
      reply.append(part.delta);
    }
  }
}

const input = document.getElementById("input");
input.addEventListener("keydown", async (event) => {
  if (event.key !== "Enter") return;
  event.preventDefault();
  const text = input.value;
  input.value = "";
  const response = await fetch(`${api}/api/chat`, {
    method: "POST", headers: {"Content-Type": "application/json", "Accept": "text/event-stream, application/json"},
    body: JSON.stringify({session_id: await session(), config_id: "CHAR_luna", input: text}),
  });
  const item = document.createElement("li");
  if ((response.headers.get("Content-Type") || "").startsWith("text/event-stream")) return stream(response, item);
  item.dataset.role = "assistant";
  item.textContent = (await response.json()).ai;
  document.getElementById("messages").append(item);
});
