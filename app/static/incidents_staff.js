// Staff session page: the session's incidents, refreshed every 2 s (a node may die while the
// examiner watches), with the restart and give-the-time-back actions through the JSON API.
(function () {
  const section = document.getElementById("incidents");
  if (!section) return;

  async function refresh() {
    if (section.contains(document.activeElement)) return;  // never wipe what is being typed
    try {
      const reply = await fetch(section.dataset.poll, {credentials: "same-origin"});
      if (!reply.ok) return;
      const html = await reply.text();
      if (html !== section.dataset.shown) {
        section.innerHTML = html;
        section.dataset.shown = html;
      }
      tellMirrors();
    } catch (error) { /* the server is restarting: ask again */ }
  }

  // A dead node's mirror would stay black: say why in it, once per incident.
  const told = new Set();
  function tellMirrors() {
    section.querySelectorAll(".incident-down[data-node]").forEach((item) => {
      const term = document.querySelector(`.terminal[data-node="${item.dataset.node}"]`);
      if (!term || !term.terminal || told.has(item.dataset.incident)) return;
      told.add(item.dataset.incident);
      const text = section.dataset.mirrorDown.replace("{node}", item.dataset.node);
      term.terminal.write(`\r\n\x1b[1;33m${text}\x1b[0m\r\n`);
    });
  }

  async function call(url, body) {
    const reply = await fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"}, body: body ? JSON.stringify(body) : undefined});
    if (!reply.ok) {
      const problem = await reply.json().catch(() => ({detail: reply.statusText}));
      alert(typeof problem.detail === "string" ? problem.detail : JSON.stringify(problem.detail));
    }
    return reply.ok;
  }

  section.addEventListener("click", async (event) => {
    const button = event.target.closest("button.restart-node");
    if (!button) return;
    button.disabled = true;
    await call(button.dataset.action);
    button.blur();
    refresh();
  });
  section.addEventListener("submit", async (event) => {
    const form = event.target.closest("form.credit");
    if (!form) return;
    event.preventDefault();
    if (await call(form.dataset.action, {seconds: Number(form.seconds.value), reason: form.reason.value})) {
      location.reload();  // the deadline and the countdown moved
    }
  });
  refresh();
  setInterval(refresh, 2000);
})();
