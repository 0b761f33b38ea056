// The waiting page's proof of work (a room's `challenge` setting): the ALTCHA widget, served from
// this origin, with its SHA-256 worker.  The widget fetches /v1/rooms/{region}/challenge, solves it
// in Web Workers and keeps its answer in the `altcha` cookie, which the join request carries.
// Its Kazakh and Russian words come with the page's other texts (`challengeText` in the page's
// config, from queue_service/pages/rooms.py), registered the way ALTCHA's own i18n files do it.
import "/static/altcha/altcha.min.js";

const { challengeText = {} } = JSON.parse(document.getElementById("config").textContent);
for (const [language, strings] of Object.entries(challengeText)) {
  globalThis.$altcha.i18n.set(language, strings);
}
globalThis.$altcha.algorithms.set("SHA-256", () => new Worker("/static/altcha/sha.js"));
