// Staff session page: extend, end, grade again and override through the JSON API; show or
// reissue the exam code; follow the session's state live. The page is reloaded only when its
// sections must change (the lab becomes ready, the result arrives), never while the examiner
// is typing, so that the watched terminals and a half-typed form survive.
(function () {
  const root = document.getElementById("session");
  if (!root) return;
  const texts = JSON.parse(root.dataset.texts);
  const api = `/api/sessions/${root.dataset.session}`;
  const stateLabel = document.getElementById("session-state");
  const rendered = stateLabel.dataset.state;
  // The report's format per language (app/web/formats.py): 29/11/2026 14:05:00, 2026-11-29 14:05:00.
  const when = new Intl.DateTimeFormat(document.documentElement.lang === "en" ? "sv-SE" : "fr-FR", {
    timeZone: root.dataset.zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false});

  async function call(url, body, method = "POST") {
    const reply = await fetch(url, {method, credentials: "same-origin",
      headers: {"Content-Type": "application/json"}, body: body ? JSON.stringify(body) : undefined});
    if (!reply.ok) {
      const problem = await reply.json().catch(() => ({detail: reply.statusText}));
      alert(typeof problem.detail === "string" ? problem.detail : JSON.stringify(problem.detail));
      return null;
    }
    return reply.json();
  }

  // The database hands back UTC times without an offset.
  const local = (iso) => iso ? when.format(new Date(/[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : iso + "Z")) : "—";

  function showClock(body) {
    const wrap = document.getElementById("time-left");
    const countdown = wrap && wrap.querySelector(".countdown");
    const deadline = document.getElementById("deadline");  // absent once the session ended
    if (deadline) deadline.textContent = local(body.deadline);
    if (!countdown) return;
    wrap.hidden = body.seconds_left === null;
    if (body.seconds_left !== null) {
      countdown.dataset.left = Math.round(body.seconds_left);
      delete countdown.dataset.base;  // countdown.js starts again from the new value
    }
  }

  // ready: terminals and controls; graded/torn_down: the result; anything else: neither.
  const sections = (state) => state === "ready" ? "live" : ["graded", "torn_down"].includes(state) ? "result" : "wait";
  const typing = () => document.activeElement?.matches("input, textarea, select") ||
    document.querySelector("dialog[open]") !== null ||
    [...root.querySelectorAll("input:not([type=number]), textarea")].some((i) => i.value !== i.defaultValue);

  async function poll() {
    let body;
    try {
      const reply = await fetch(api, {credentials: "same-origin"});
      if (!reply.ok) return;
      body = await reply.json();
    } catch (error) { return; }  // the server is restarting: ask again at the next tick
    stateLabel.textContent = texts.states[body.state] || body.state;
    stateLabel.dataset.state = body.state;
    showClock(body);
    const now = sections(body.state), before = sections(rendered);
    if (now === before) return;
    if (before === "live") {  // no longer running: its controls go at once, reload or not
      for (const id of ["extend-form", "end", "exam-code-box", "watching"]) {
        const el = document.getElementById(id);
        if (el) el.hidden = true;
      }
    }
    // ending, grading: keep the terminals' last words; otherwise reload unless typing
    if (!(now === "wait" && before === "live") && !typing()) location.reload();
  }

  const extend = document.getElementById("extend-form");
  if (extend) extend.addEventListener("submit", async (event) => {
    event.preventDefault();
    const minutes = Number(extend.minutes.value), reason = extend.reason.value;
    const body = await call(extend.dataset.action, {minutes, reason});
    if (!body) return;
    showClock(body);
    const item = document.createElement("li");
    item.textContent = `+${minutes} min — ${reason} — ${texts.by} ${root.dataset.me}, ${local(new Date().toISOString())}`;
    document.getElementById("extension-list").append(item);
    document.getElementById("extensions").hidden = false;
    document.getElementById("extend-status").textContent = texts.extended.replace("{minutes}", minutes);
    extend.reset();
  });

  const end = document.getElementById("end");
  if (end) end.addEventListener("click", async () => {
    if (confirm(end.dataset.confirm) && await call(end.dataset.action)) poll();
  });
  const regrade = document.getElementById("regrade");
  if (regrade) regrade.addEventListener("click", async () => {
    if (await call(regrade.dataset.action)) location.reload();
  });

  const code = document.getElementById("exam-code");
  const show = document.getElementById("show-code");
  if (show) show.addEventListener("click", async () => {
    if (!code.hidden) {  // hide it again, and take it out of the page
      code.hidden = true;
      code.textContent = "";
      show.textContent = texts.show;
      return;
    }
    const body = await call(show.dataset.action, null, "GET");
    if (!body) return;
    code.textContent = body.exam_code;
    code.hidden = false;
    show.textContent = texts.hide;
  });
  const reissue = document.getElementById("reissue-code");
  if (reissue) reissue.addEventListener("click", async () => {
    if (!confirm(reissue.dataset.confirm)) return;
    const body = await call(reissue.dataset.action);
    if (!body) return;
    code.textContent = body.exam_code;
    code.hidden = false;
    show.textContent = texts.hide;
    document.getElementById("code-status").textContent = texts.reissued;
  });

  setInterval(poll, 2000);
})();
