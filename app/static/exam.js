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

  function show(text) { notice.textContent = text; notice.hidden = false; }

  function finish() {
    if (finished) return;
    finished = true;
    countdown.textContent = "00:00";
    submit.hidden = true;
    show(texts.over);
    exam.classList.add("over");
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
      for (const node of body.nodes) {
        const item = document.querySelector(`#nodes li[data-node="${node.name}"] .state`);
        if (item) item.textContent = texts.states[node.state] || node.state;
      }
      if (body.state === "ready") {
        left = body.seconds_left;
        seenAt = performance.now();
        notice.hidden = true;
      } else if (body.state === "requested" || body.state === "provisioning") {
        show(texts.not_ready);
      } else if (body.state === "failed" && !body.ended_at) {
        show(texts.failed);
      } else {
        finish();
      }
    } catch (error) { /* the server is restarting: keep counting, ask again */ }
  }

  submit.addEventListener("click", async () => {
    if (!confirm(submit.dataset.confirm)) return;
    const reply = await fetch(`${api}/submit`, {method: "POST", credentials: "same-origin"});
    if (reply.ok) finish();
  });
  // Signing out costs the candidate their exam code again: ask first.
  const signOut = document.getElementById("sign-out");
  signOut.addEventListener("click", (event) => { if (!confirm(signOut.dataset.confirm)) event.preventDefault(); });
  document.addEventListener("terminal-end", () => poll());
  setInterval(tick, 250);
  setInterval(poll, 2000);
  poll();
})();
