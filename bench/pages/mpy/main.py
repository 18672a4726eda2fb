import sys

from pyscript import document, window

session = window.localStorage.getItem("session_CHAR_luna")
document.getElementById("out").textContent = f"session: {session}"
document.documentElement.dataset.interpreter = sys.implementation.name  # the benchmark checks "micropython"
document.documentElement.dataset.appState = "ready"
