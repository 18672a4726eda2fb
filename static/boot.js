// Runs before PyScript: shows its progress while Python loads, and shows a boot
// failure in the page instead of leaving it stuck on "loading".
const root = document.documentElement;
const status = document.getElementById("boot-status");
const box = document.getElementById("boot");

const loading = () => root.dataset.appState === "loading";

function fail(message) {
  if (!loading()) return;
  root.dataset.appState = "error";
  box.classList.add("failed");
  box.setAttribute("role", "alert");
  status.textContent = `The page could not start: ${message}`;
}

addEventListener("py:progress", (event) => {
  if (loading()) status.textContent = `${String(event.detail)}…`;
});

// PyScript reports boot and Python errors as a .py-error element in the body.
new MutationObserver((records) => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.nodeType === 1 && (node.matches(".py-error") || node.querySelector(".py-error"))) {
        const text = (node.textContent || "").trim().split("\n").filter(Boolean).pop() || "Python error";
        fail(text.slice(0, 500));
      }
    }
  }
}).observe(document.documentElement, { childList: true, subtree: true });

addEventListener("error", (event) => fail(event.message || "script error"));
addEventListener("unhandledrejection", (event) => fail(String(event.reason && event.reason.message || event.reason)));
