// The demo application form: file, see the decision, print a receipt, withdraw. Uses only the public API.
// The access token and the filed applications (id + withdraw token) live in session storage, so a reload
// keeps them: the decisions are read back from the API.
(() => {
  "use strict";
  const cfg = JSON.parse(document.getElementById("config").textContent);
  const t = cfg.text;
  const $ = (id) => document.getElementById(id);
  const store = window.sessionStorage;
  const tokenKey = `kezek.access.${cfg.region}`;
  const filedKey = `kezek.applications.${cfg.region}`;

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

  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => (k === "class" ? (node.className = v) : node.setAttribute(k, v)));
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  };
  const when = (iso, dateOnly) => new Date(iso).toLocaleString(cfg.lang === "kk" ? "kk-KZ" : cfg.lang, {
    timeZone: "Asia/Almaty", dateStyle: "long", ...(dateOnly ? {} : { timeStyle: "short" }),
  });

  // School names: Kazakh in Kazakh, else Russian (the reference data has no English names); the number
  // first, so a phone's narrow select never cuts it off.
  function schoolName(kk, ru) {
    let name = cfg.lang === "kk" ? kk : ru;
    const number = name.match(/№\s*\d+/);
    if (number && !name.startsWith(number[0])) {
      name = `${number[0]} — ${name.replace(number[0], "").replace(/\s{2,}/g, " ").trim()}`;
    }
    return name;
  }

  let schools = [];
  const schoolsLoaded = call("GET", `/v1/regions/${cfg.region}/schools`).then((list) => {
    schools = list;
    return list;
  }, (problem) => { showError(problem); return []; });
  const schoolByBin = (bin) => schools.find((s) => s.bin === bin);

  // -- the filed applications, kept across reloads ----------------------------------------
  const filed = () => JSON.parse(store.getItem(filedKey) || "[]");
  const remember = (application) => {
    const list = filed().filter((a) => a.id !== application.id);
    list.push({ id: application.id, withdraw_token: application.withdraw_token });
    store.setItem(filedKey, JSON.stringify(list));
  };
  const tokenOf = (id) => (filed().find((a) => a.id === id) || {}).withdraw_token;

  function decisionCard(application) {
    const accepted = application.status === "accepted" || application.status === "confirmed";
    const refusal = application.refusal;
    const school = schoolByBin(application.school_bin);
    const name = school ? schoolName(school.name_kk, school.name_ru)
      : refusal ? schoolName(refusal.receipt.school_name_kk, refusal.receipt.school_name_ru) : application.school_bin;
    const headline = application.status === "withdrawn" ? t.withdrawn : accepted ? t.accepted : t.refused;
    const rows = [
      [t.number, application.id], [t.date, when(application.decided_at)], [t.child, application.child_iin],
      [t.school, name], [t.language, t[application.language] || application.language],
    ];
    if (application.status === "confirmed") rows.push([t.order, `№ ${application.order_number}, ${application.order_date}`]);
    if (refusal) {
      const ground = refusal.ground ? `${t.ground} ${refusal.ground}: ` : "";
      rows.push([t.reason, ground + (refusal.reason[cfg.lang] || refusal.reason.en || refusal.code)]);
    }
    const card = el("section", {
      class: `card decision ${application.status === "refused" ? "error" : application.status === "withdrawn" ? "" : "ok"}`,
      "data-application": application.id, "data-status": application.status,
    },
    el("h2", { class: "decision-text" }, headline),
    el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))])));
    const actions = el("div", { class: "actions" });
    if (application.status !== "withdrawn") {
      const print = el("button", { type: "button", class: "secondary print" }, accepted ? t.print_receipt : t.print_refusal);
      print.addEventListener("click", () => printReceipt(application, name));
      actions.append(print);
    }
    if (application.status === "accepted") {
      const withdraw = el("button", { type: "button", class: "danger withdraw" }, t.withdraw);
      withdraw.addEventListener("click", () => askToWithdraw(application));
      actions.append(withdraw);
    }
    card.append(actions);
    return card;
  }

  function showDecision(application) {
    const card = decisionCard(application);
    const old = document.querySelector(`[data-application="${application.id}"]`);
    if (old) old.replaceWith(card); else $("decisions").prepend(card);
  }

  // -- the receipt: acceptance, or the refusal receipt of annex 2 --------------------------
  function printReceipt(application, schoolLabel) {
    const refusal = application.refusal;
    const table = (pairs) => el("table", {}, ...pairs.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, String(v)))));
    const parts = [el("p", { class: "form-ref" }, refusal ? t.annex2 : t.receipt_service)];
    if (refusal) {
      const r = refusal.receipt;
      // Fields the receipt gained later (full name, legal basis) are shown when the API gives them.
      parts.push(el("h2", {}, t.refusal_title), table([
        ...(r.applicant_full_name ? [[t.full_name, r.applicant_full_name]] : []),
        [t.applicant, r.applicant_iin], [t.child, r.child_iin], [t.school, `${schoolLabel} (${r.school_bin})`],
        [t.documents, r.documents.join("; ")], [t.application_date, when(r.application_date || r.date, true)],
        [t.reason, `${r.ground ? `${t.ground} ${r.ground}. ` : ""}${r.reason[cfg.lang] || r.reason.en}`],
        ...(r.legal_basis ? [[t.legal_basis, r.legal_basis]] : []),
        [t.number, application.id],
      ]));
    } else {
      parts.push(el("h2", {}, t.receipt_title), table([
        [t.number, application.id], [t.date, when(application.decided_at)], [t.applicant, application.applicant_iin],
        [t.child, application.child_iin], [t.school, `${schoolLabel} (${application.school_bin})`],
        [t.language, t[application.language] || application.language], [t.status, t.accepted],
      ]), el("p", {}, t.receipt_note));
    }
    parts.push(el("div", { class: "sign" }, el("span", {}, t.issued_by), el("span", {}, when(new Date().toISOString()))));
    $("receipt").replaceChildren(...parts);
    document.body.classList.add("printing");
    window.print();
  }
  window.addEventListener("afterprint", () => document.body.classList.remove("printing"));

  // -- withdrawal, after the parent confirms ---------------------------------------------
  let pending = null;
  function askToWithdraw(application) {
    pending = application;
    $("confirm-text").textContent = t.confirm_text.replace("{child}", application.child_iin);
    $("confirm-withdraw").showModal();
  }
  $("confirm-withdraw").addEventListener("close", async () => {
    const application = pending;
    pending = null;
    if ($("confirm-withdraw").returnValue !== "yes" || !application) return;
    $("error").hidden = true;
    try {
      showDecision(await call("POST", `/v1/applications/${application.id}/withdraw`, tokenOf(application.id)));
    } catch (problem) {
      showError(problem);
    }
  });

  // -- the form ----------------------------------------------------------------------------
  const payload = token && claims(token);
  const mayApply = Boolean(payload && payload.aud === cfg.region && payload.exp * 1000 > Date.now());

  function fillLanguages() {
    const school = schoolByBin($("school").value);
    $("language").replaceChildren(
      ...(school ? school.grade1 : []).map((g) => new Option(`${t[g.language] || g.language} — ${g.free} ${t.free}`, g.language)),
    );
    $("school-info").textContent = school ? `${school.address} · ${school.phone}` : "";
  }
  $("school").addEventListener("change", fillLanguages);

  // Keep the waiting room's slot while the parent fills the form.  Its lease is short (a closed tab
  // frees the slot within a minute), so the page renews it every quarter of what is left, and at once
  // when the tab is shown again.  Once no form is open (the decision is shown) the page stops renewing
  // and the slot goes to the next family when the lease ends.  A 401 means the slot ended; anything
  // else is retried shortly.
  let heartbeat = null;
  function keepSlot(seconds) {
    clearTimeout(heartbeat);
    if (!mayApply) return;
    heartbeat = setTimeout(() => {
      if ($("application").hidden) return;
      call("POST", `/v1/rooms/${cfg.region}/sessions/heartbeat`, token).then((session) => {
        token = session.access_token;
        store.setItem(tokenKey, token);
        keepSlot((Date.parse(session.lease_expires_at) - Date.now()) / 4000);
      }, (problem) => {
        if (problem && problem.status === 401) showError(problem); else keepSlot(3);
      });
    }, Math.max(seconds, 0) * 1000);
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden) keepSlot(0); });

  function showForm(on) {
    $("application").hidden = !on;
    $("another").hidden = on || !mayApply;
    if (on) keepSlot(0);
  }

  $("application").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("error").hidden = true;
    try {
      const application = await call("POST", "/v1/applications", token, {
        applicant_iin: payload.sub,
        applicant_full_name: $("applicant-name").value.trim() || null,
        child_iin: $("child").value.trim(),
        school_bin: $("school").value,
        language: $("language").value,
        consent: $("consent").checked,
      });
      remember(application);
      showForm(false);
      showDecision(application);
    } catch (problem) {
      showError(problem);
    }
  });

  $("another").addEventListener("click", () => {
    $("child").value = "";
    $("consent").checked = false;
    showForm(true);
    $("child").focus();
  });

  async function start() {
    await schoolsLoaded;
    if (mayApply) {
      $("applicant").textContent = payload.sub;
      $("school").replaceChildren(...schools.map((s) => new Option(schoolName(s.name_kk, s.name_ru), s.bin)));
      fillLanguages();
    }
    const earlier = filed();
    for (const { id, withdraw_token: withdrawToken } of earlier) {
      try {
        showDecision(await call("GET", `/v1/applications/${id}`, withdrawToken));
      } catch (problem) {
        showError(problem);
      }
    }
    if (!mayApply && !earlier.length) $("no-token").hidden = false;
    showForm(mayApply && !earlier.length);
  }
  start();

  window.addEventListener("pagehide", () => clearTimeout(heartbeat));
})();
