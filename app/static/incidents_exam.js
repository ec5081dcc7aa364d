// The candidate's page: says in words when a node of their lab is down (and that the examiner
// knows), in the page and in that node's terminal, then when it is back. Fed by exam.js's poll.
(function () {
  const box = document.getElementById("incident");
  if (!box) return;
  const texts = JSON.parse(box.dataset.texts);
  const told = new Set();  // incidents already written into their terminal

  // The exam centre's clock, as on the staff pages, whatever the browser's own zone.
  const zone = box.dataset.zone || undefined;
  function clock(iso) {
    return new Date(iso).toLocaleTimeString(document.documentElement.lang || "fr", {timeZone: zone});
  }
  function span(s) {
    const m = Math.floor(s / 60), r = s % 60;
    return m ? `${m} min ${String(r).padStart(2, "0")} s` : `${r} s`;
  }
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => values[k]);

  function show(incidents, running) {
    const down = incidents.filter((i) => !i.up_at);
    const last = incidents[incidents.length - 1];
    const lines = down.map((i) => fill(texts.down, {node: i.node, since: clock(i.down_at)}));
    if (!down.length && last) {
      lines.push(fill(texts.back, {node: last.node}));
      if (last.credited_seconds) lines.push(fill(texts.credit, {lost: span(last.credited_seconds)}));
    }
    box.textContent = lines.join(" ");
    box.hidden = !lines.length || !running;
    box.classList.toggle("incident-down", down.length > 0);
    for (const i of down) {
      const term = document.querySelector(`.terminal[data-node="${i.node}"]`);
      if (term && term.terminal && !told.has(i.id)) {
        told.add(i.id);
        term.terminal.write(`\r\n\x1b[1;31m${fill(texts.terminal, {node: i.node})}\x1b[0m\r\n`);
      }
    }
  }

  document.addEventListener("session-poll", (event) => {
    const body = event.detail;
    show(body.incidents || [], body.state === "ready");
  });
})();
