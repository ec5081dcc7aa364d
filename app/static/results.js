// Session page: one override form, opened from the row whose score the examiner changes.
// Points are typed as shown in the table; the API stores a 0..1 score (points / weight).
(function () {
  const dialog = document.getElementById("override-dialog");
  if (!dialog) return;
  const form = document.getElementById("override-form");
  let criterion = null, weight = 1;
  document.querySelectorAll("button.edit-score").forEach((button) => button.addEventListener("click", () => {
    criterion = button.dataset.criterion;
    weight = Number(button.dataset.weight);
    document.getElementById("override-title").textContent = button.dataset.title;
    document.getElementById("override-weight").textContent = button.closest("tr").querySelector(".weight").textContent;
    form.points.max = String(weight);
    form.points.value = button.dataset.points;
    form.justification.value = "";
    dialog.showModal();
  }));
  document.getElementById("override-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reply = await fetch(form.dataset.action, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({criterion: criterion, score: Number(form.points.value) / weight,
                            justification: form.justification.value})});
    if (!reply.ok) {
      const problem = await reply.json().catch(() => ({detail: reply.statusText}));
      alert(typeof problem.detail === "string" ? problem.detail : JSON.stringify(problem.detail));
      return;
    }
    location.reload();
  });
})();
