// The same minimal job in plain JavaScript: read one session key; send a message and render the reply.
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

const input = document.getElementById("input");
input.addEventListener("keydown", async (event) => {
  if (event.key !== "Enter") return;
  event.preventDefault();
  const text = input.value;
  input.value = "";
  const response = await fetch(`${api}/api/chat`, {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({session_id: await session(), config_id: "CHAR_luna", input: text}),
  });
  const item = document.createElement("li");
  item.dataset.role = "assistant";
  item.textContent = (await response.json()).ai;
  document.getElementById("messages").append(item);
});
