// Staff pages: count down every `.countdown[data-left]` (seconds left when the page or the
// fragment was rendered, or when staff.js last heard from the server), between two refreshes.
// The format is the candidate's (exam.js): H:MM:SS from an hour up, MM:SS below.
(function () {
  const pad = (n) => String(n).padStart(2, "0");
  function clock(left) {
    const h = Math.floor(left / 3600), m = Math.floor(left / 60) % 60, s = left % 60;
    return (h ? `${h}:${pad(m)}` : pad(m)) + `:${pad(s)}`;
  }
  function render(el) {
    if (el.dataset.base !== el.dataset.left) {
      el.dataset.base = el.dataset.left;
      el.dataset.at = performance.now();
    }
    const left = Math.max(0, Math.round(el.dataset.base - (performance.now() - el.dataset.at) / 1000));
    el.textContent = clock(left);
  }
  setInterval(() => document.querySelectorAll(".countdown[data-left]").forEach(render), 500);
  document.querySelectorAll(".countdown[data-left]").forEach(render);
})();
