// The demo application form: file, see the decision, withdraw. Uses only the public API.
(() => {
  "use strict";
  const cfg = JSON.parse(document.getElementById("config").textContent);
  const t = cfg.text;
  const $ = (id) => document.getElementById(id);
  const store = window.sessionStorage;
  const tokenKey = `kezek.access.${cfg.region}`;

  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (fragment.get("access_token")) {
    store.setItem(tokenKey, fragment.get("access_token"));
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  let token = store.getItem(tokenKey);

  function claims(jwt) {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part + "===".slice((part.length + 3) % 4)));
    } catch (e) {
      return null;
    }
  }

  function showError(problem) {
    $("error-text").textContent = (problem && (problem.title || problem.detail)) || String(problem);
    $("error").hidden = false;
  }

  async function call(method, path, bearer, body) {
    const response = await fetch(path, {
      method,
      headers: {
        "Accept-Language": cfg.lang,
        "Content-Type": "application/json",
        ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json();
    if (!response.ok) throw data;
    return data;
  }

  const payload = token && claims(token);
  if (!payload || payload.aud !== cfg.region || payload.exp * 1000 < Date.now()) {
    $("no-token").hidden = false;
    return;
  }
  $("applicant").textContent = payload.sub;
  $("application").hidden = false;

  let schools = [];
  function fillLanguages() {
    const school = schools.find((s) => s.bin === $("school").value);
    $("language").replaceChildren(
      ...(school ? school.grade1 : []).map((g) => new Option(`${t[g.language] || g.language} — ${g.free} ${t.free}`, g.language)),
    );
  }
  call("GET", `/v1/regions/${cfg.region}/schools`).then((list) => {
    schools = list;
    const name = cfg.lang === "ru" ? "name_ru" : "name_kk";
    $("school").replaceChildren(...list.map((s) => new Option(s[name], s.bin)));
    fillLanguages();
  }, showError);
  $("school").addEventListener("change", fillLanguages);

  // Keep the waiting room's slot while the parent fills the form.  Its lease is short (a closed tab
  // frees the slot within a minute), so the page renews it every quarter of what is left, and at once
  // when the tab is shown again.  A 401 means the slot ended; anything else is retried shortly.
  let heartbeat = null;
  function keepSlot(seconds) {
    clearTimeout(heartbeat);
    heartbeat = setTimeout(() => {
      call("POST", `/v1/rooms/${cfg.region}/sessions/heartbeat`, token).then((session) => {
        token = session.access_token;
        store.setItem(tokenKey, token);
        keepSlot((Date.parse(session.lease_expires_at) - Date.now()) / 4000);
      }, (problem) => {
        if (problem && problem.status === 401) showError(problem); else keepSlot(3);
      });
    }, Math.max(seconds, 0) * 1000);
  }
  keepSlot(0);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) keepSlot(0); });

  let current = null;
  function showDecision(application, withdrawn) {
    $("decision").hidden = false;
    $("decision").className = "card " + (application.status === "refused" ? "error" : "ok");
    const accepted = application.status === "accepted" || application.status === "confirmed";
    $("decision-text").textContent = withdrawn ? t.withdrawn : accepted ? t.accepted : t.refused;
    const refusal = application.refusal;
    $("decision-ground").hidden = !refusal;
    if (refusal) {
      const ground = refusal.ground ? `${t.ground} ${refusal.ground}: ` : "";
      $("decision-ground").textContent = ground + (refusal.reason[cfg.lang] || refusal.reason.en || refusal.code);
    }
    $("withdraw").hidden = !accepted || withdrawn;
  }

  $("application").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("error").hidden = true;
    try {
      const filed = await call("POST", "/v1/applications", token, {
        applicant_iin: payload.sub,
        child_iin: $("child").value.trim(),
        school_bin: $("school").value,
        language: $("language").value,
        consent: $("consent").checked,
      });
      current = filed;
      $("application").hidden = true;
      showDecision(filed, false);
    } catch (problem) {
      showError(problem);
    }
  });

  $("withdraw").addEventListener("click", async () => {
    $("error").hidden = true;
    try {
      const application = await call("POST", `/v1/applications/${current.id}/withdraw`, current.withdraw_token);
      showDecision(application, true);
    } catch (problem) {
      showError(problem);
    }
  });

  $("another").addEventListener("click", () => {
    $("decision").hidden = true;
    $("application").hidden = false;
    $("child").value = "";
  });

  window.addEventListener("pagehide", () => clearTimeout(heartbeat));
})();
