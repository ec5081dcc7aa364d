// Staff session page: extend, end, grade again and override through the JSON API, then reload.
(function () {
  async function call(url, body) {
    const reply = await fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"}, body: body ? JSON.stringify(body) : undefined});
    if (!reply.ok) {
      const problem = await reply.json().catch(() => ({detail: reply.statusText}));
      alert(typeof problem.detail === "string" ? problem.detail : JSON.stringify(problem.detail));
      return;
    }
    location.reload();
  }
  const extend = document.getElementById("extend-form");
  if (extend) extend.addEventListener("submit", (event) => {
    event.preventDefault();
    call(extend.dataset.action, {minutes: Number(extend.minutes.value), reason: extend.reason.value});
  });
  for (const id of ["end", "regrade"]) {
    const button = document.getElementById(id);
    if (button) button.addEventListener("click", () => {
      if (!button.dataset.confirm || confirm(button.dataset.confirm)) call(button.dataset.action);
    });
  }
  document.querySelectorAll("form.override").forEach((form) => form.addEventListener("submit", (event) => {
    event.preventDefault();
    call(form.dataset.action, {criterion: form.dataset.criterion, score: Number(form.score.value),
                               justification: form.justification.value});
  }));
})();
