// The waiting page: join, poll at the suggested interval, show the place, redirect when admitted.
// While the queue is paused (an admin, the service's hold, Redis unreachable or being rebuilt) the page
// says so, keeps the ticket -- the place -- and carries on by itself.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("config").textContent);
  const t = cfg.text;
  const base = "/v1/rooms/" + encodeURIComponent(cfg.region);
  const storeKey = "kezek-ticket:" + cfg.region;
  const $ = (id) => document.getElementById(id);
  let lastIin = "";
  let firstPosition = null;
  let timer = null;

  function show(id, on) { $(id).hidden = !on; }

  function message(text, isError) {
    const el = $("message");
    el.textContent = text;
    el.className = "card " + (isError ? "error" : "notice");
    show("message", true);
  }

  function duration(seconds) {
    if (seconds < 60) return Math.max(1, Math.round(seconds)) + " " + t.seconds;
    if (seconds < 3600) return Math.round(seconds / 60) + " " + t.minutes;
    const h = Math.floor(seconds / 3600);
    return h + " " + t.hours + " " + Math.round((seconds - h * 3600) / 60) + " " + t.minutes;
  }

  function when(iso) {
    // Kazakhstan time, UTC+5 ("Etc/GMT-5": POSIX signs are inverted); not "Asia/Almaty",
    // which a browser with tz data older than 2024a still shows at +6.
    return new Date(iso).toLocaleString(cfg.lang === "kk" ? "kk-KZ" : cfg.lang, { timeZone: "Etc/GMT-5" });
  }

  function render(view) {
    if (view.ticket) sessionStorage.setItem(storeKey, view.ticket);
    if (view.status === "admitted") {
      sessionStorage.removeItem(storeKey);
      show("waiting", false);
      show("keep-open", false);
      message(t.admitted, false);
      window.location.assign(withLang(view.redirect_url));
      return;
    }
    if (view.status === "expired" || view.status === "closed") {
      sessionStorage.removeItem(storeKey);
      show("waiting", false);
      show("keep-open", false);
      show("join", cfg.portalAuth !== "assertion");
      message(view.status === "expired" ? t.expired : t.closed, false);
      return;
    }
    show("join", false);
    if (view.paused) message(t.paused + (view.pause_message ? " " + view.pause_message : ""), false);
    else show("message", false);
    show("waiting", true);
    show("keep-open", true);
    show("paused", Boolean(view.paused));
    if (view.paused) $("paused-text").textContent = view.pause_message || "";
    announce(view);
    if (firstPosition === null || view.position > firstPosition) firstPosition = view.position;
    $("position").textContent = view.position;
    $("ahead").textContent = view.ahead;
    $("eta").textContent = duration(view.eta_seconds);
    show("opens-row", Boolean(view.opens_at));
    if (view.opens_at) $("opens").textContent = when(view.opens_at);
    const done = firstPosition > 1 ? (firstPosition - view.position) / (firstPosition - 1) : 1;
    $("progress").value = Math.round(100 * Math.min(Math.max(done, 0), 1));
    schedule(view.poll_after_seconds);
  }

  // The form keeps the parent's language: the redirect URL gains ?lang= (its #fragment stays).
  function withLang(url) {
    const target = new URL(url, window.location.href);
    target.searchParams.set("lang", cfg.lang);
    return target.toString();
  }

  // Screen readers hear the place when it changes: at once near the front, else at most every 30 s.
  let announced = { position: null, at: 0 };
  function announce(view) {
    if (view.position === announced.position) return;
    const now = Date.now();
    if (announced.position !== null && view.position > 3 && now - announced.at < 30000) return;
    announced = { position: view.position, at: now };
    $("announce").textContent = t.announce.replace("{position}", view.position).replace("{ahead}", view.ahead);
  }

  // Before the window opens: a countdown to the opening, every second.
  const opensAt = Date.parse(cfg.opensAt);
  function tick() {
    const left = Math.round((opensAt - Date.now()) / 1000);
    show("countdown", left > 0);
    if (left <= 0) return;
    const d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
    const m = Math.floor(left % 3600 / 60), sec = left % 60;
    const pad = (n) => String(n).padStart(2, "0");
    $("countdown-clock").textContent = (d ? d + " " + t.days + " " : "") + pad(h) + ":" + pad(m) + ":" + pad(sec);
    setTimeout(tick, 1000 - (Date.now() % 1000));
  }
  $("countdown-at").textContent = when(cfg.opensAt);
  tick();

  function schedule(seconds) {
    clearTimeout(timer);
    timer = setTimeout(poll, Math.max(seconds, 1) * 1000);
  }

  // Nothing answers, or 503: the place is kept (the ticket stays); try again after Retry-After.
  function paused(seconds) {
    message(t.paused, false);
    if (sessionStorage.getItem(storeKey)) schedule(seconds);
    else if (lastIin || window.location.hash.includes("assertion=")) setTimeout(join, seconds * 1000);
  }

  async function problem(response) {
    let body = {};
    try { body = await response.json(); } catch (e) { /* not JSON */ }
    if (response.status === 503 || body.code === "queue_paused") {
      paused(Number(response.headers.get("Retry-After")) || 5);
    } else if (body.code === "window_not_open") {
      message(t.not_open + " " + when(body.prequeue_opens_at), false);
    } else if (body.code === "window_closed") {
      message(t.closed, false);
    } else if (body.code === "queue_full") {
      const wait = Number(response.headers.get("Retry-After") || body.retry_after || 30);
      message(t.full + " " + duration(wait), false);
      setTimeout(join, wait * 1000);
    } else if (body.code === "invalid_ticket") {
      sessionStorage.removeItem(storeKey);
      show("waiting", false);
      show("join", true);
      message(body.title, true);
    } else {
      message(t.error + " " + (body.title || response.status), true);
      if (response.status >= 500) schedule(5);
    }
  }

  async function poll() {
    const ticket = sessionStorage.getItem(storeKey);
    if (!ticket) return;
    try {
      const response = await fetch(base + "/visitors/me?lang=" + cfg.lang, {
        headers: { Authorization: "Bearer " + ticket }, cache: "no-store",
      });
      if (response.ok) render(await response.json()); else await problem(response);
    } catch (e) {
      paused(5); // network trouble: keep trying
    }
  }

  async function join() {
    const headers = { "Content-Type": "application/json" };
    const assertion = new URLSearchParams(window.location.hash.slice(1)).get("assertion");
    if (assertion) headers["X-Portal-Assertion"] = assertion;
    const iin = lastIin || (assertion ? JSON.parse(atob(assertion.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub : "");
    try {
      const response = await fetch(base + "/visitors?lang=" + cfg.lang, {
        method: "POST", headers: headers, body: JSON.stringify({ applicant_iin: iin }),
      });
      if (response.ok) render(await response.json()); else await problem(response);
    } catch (e) {
      paused(5);
    }
  }

  $("join").addEventListener("submit", (event) => {
    event.preventDefault();
    lastIin = $("iin").value.trim();
    join();
  });

  if (sessionStorage.getItem(storeKey)) poll();
  else if (window.location.hash.includes("assertion=")) join();
})();
