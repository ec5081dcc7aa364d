// The candidate's page: a countdown that follows the server's deadline (so a reload changes
// nothing), the nodes' state, hand-in, and the end of the exam.
(function () {
  const exam = document.getElementById("exam");
  const texts = JSON.parse(exam.dataset.texts);
  const api = `/api/sessions/${exam.dataset.session}`;
  const countdown = document.getElementById("countdown");
  const notice = document.getElementById("exam-state");
  const submit = document.getElementById("submit");
  let left = null;  // seconds left at `seenAt`, from the server
  let seenAt = 0;
  let finished = false;
  let refusedAt = -Infinity;  // when a hand-in failed: its notice stays a while

  function show(text) { notice.textContent = text; notice.hidden = false; }
  function refused() { refusedAt = performance.now(); show(texts.submit_failed); }

  // Over: no clock, no hand-in; the machines are frozen for grading, whatever the engine says.
  function finish(text) {
    if (finished) return;
    finished = true;
    countdown.closest(".clock").hidden = true;
    submit.hidden = true;
    show(text);
    exam.classList.add("over");
    document.querySelectorAll("#nodes .state").forEach((item) => { item.textContent = texts.frozen; });
  }

  function tick() {
    if (left === null || finished) return;
    const remaining = Math.max(0, Math.round(left - (performance.now() - seenAt) / 1000));
    const h = Math.floor(remaining / 3600), m = Math.floor(remaining / 60) % 60, s = remaining % 60;
    const pad = (n) => String(n).padStart(2, "0");
    countdown.textContent = (h ? `${h}:${pad(m)}` : pad(m)) + `:${pad(s)}`;
  }

  async function poll() {
    try {
      const reply = await fetch(api, {credentials: "same-origin"});
      if (!reply.ok) return;
      const body = await reply.json();
      document.dispatchEvent(new CustomEvent("session-poll", {detail: body}));  // incidents.js
      for (const node of finished ? [] : body.nodes) {
        const item = document.querySelector(`#nodes li[data-node="${node.name}"] .state`);
        if (item) item.textContent = texts.states[node.state] || node.state;
      }
      submit.disabled = body.state !== "ready";  // the server refuses it before and after
      if (body.state === "ready") {
        left = body.seconds_left;
        seenAt = performance.now();
        if (seenAt - refusedAt > 10000) notice.hidden = true;
      } else if (body.state === "requested" || body.state === "provisioning") {
        show(texts.not_ready);
      } else if (body.state === "failed") {
        if (body.ended_at) finish(texts.failed_after);  // after the hand-in: grading failed
        else show(texts.failed);
      } else {
        finish(texts.over);
      }
    } catch (error) { /* the server is restarting: keep counting, ask again */ }
  }

  submit.addEventListener("click", async () => {
    if (!confirm(submit.dataset.confirm)) return;
    submit.disabled = true;
    try {
      const reply = await fetch(`${api}/submit`, {method: "POST", credentials: "same-origin"});
      if (reply.ok) finish(texts.over);
      else refused();
    } catch (error) {
      refused();
    }
    poll();  // the state as it is now: ready again, or over after all
  });
  // Signing out costs the candidate their exam code again: ask first.
  const signOut = document.getElementById("sign-out");
  signOut.addEventListener("click", (event) => { if (!confirm(signOut.dataset.confirm)) event.preventDefault(); });
  document.addEventListener("terminal-end", () => poll());
  setInterval(tick, 250);
  setInterval(poll, 2000);
  poll();
})();
