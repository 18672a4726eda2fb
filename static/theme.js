// The theme chosen on this browser: "light" or "dark" in localStorage under "pychat:theme", else
// the system's. A classic script in <head> (the CSP allows no inline script), so <html
// data-theme> is set before the page is first drawn, with no flash, and before Python starts.
// It also keeps the theme control (#theme-select) and other tabs in step.
(() => {
  const KEY = "pychat:theme";
  const THEMES = ["light", "dark"];
  const root = document.documentElement;

  const stored = () => {
    try {
      const value = localStorage.getItem(KEY);
      return THEMES.includes(value) ? value : "system";
    } catch {
      return "system"; // storage blocked: the system's theme
    }
  };
  const control = () => document.getElementById("theme-select");
  const apply = (theme) => {
    if (THEMES.includes(theme)) root.dataset.theme = theme;
    else delete root.dataset.theme;
    const select = control();
    if (select && select.value !== theme) select.value = theme;
  };

  apply(stored());
  document.addEventListener("DOMContentLoaded", () => {
    apply(stored());
    control().addEventListener("change", (event) => {
      const theme = THEMES.includes(event.target.value) ? event.target.value : "system";
      try {
        if (theme === "system") localStorage.removeItem(KEY);
        else localStorage.setItem(KEY, theme);
      } catch {
        // not remembered, but still applied to this page
      }
      apply(theme);
    });
  });
  addEventListener("storage", (event) => {
    if (event.key === KEY || event.key === null) apply(stored());
  });
})();
