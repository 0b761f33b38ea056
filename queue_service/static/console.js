// The admin console's live parts: every [data-live] element is re-rendered by the server every few seconds.
(() => {
  "use strict";
  const EVERY_MS = 3000;
  const parts = Array.from(document.querySelectorAll("[data-live]"));
  if (!parts.length) return;
  async function refresh() {
    if (document.hidden) return;
    for (const part of parts) {
      try {
        const response = await fetch(part.dataset.live, { cache: "no-store", credentials: "same-origin" });
        if (response.status === 401) { window.location.assign("/admin/sign-in"); return; }
        if (response.ok) part.innerHTML = await response.text();
      } catch (e) { /* the next round tries again */ }
    }
  }
  setInterval(refresh, EVERY_MS);
  document.addEventListener("visibilitychange", refresh);
})();
