// The waiting page's proof of work (a room's `challenge` setting): the ALTCHA widget, served from
// this origin, with its SHA-256 worker.  The widget fetches /v1/rooms/{region}/challenge, solves it
// in Web Workers and keeps its answer in the `altcha` cookie, which the join request carries.
import "/static/altcha/altcha.min.js";
import "/static/altcha/i18n-kk.js";
import "/static/altcha/i18n-ru.js";

globalThis.$altcha.algorithms.set("SHA-256", () => new Worker("/static/altcha/sha.js"));
