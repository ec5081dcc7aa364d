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
    } catch (error) { /* the server is restarting: ask again */ }
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
